#pragma once
// HTTP transport for the registry client: libcurl easy handles sharing one
// connection/DNS/TLS-session cache, TLS settings per host, redirects followed
// by us (so Authorization never leaks to a blob storage host), streaming
// request and response bodies, and retries with backoff for transient
// failures.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "registry/options.h"

namespace slipway::registry {

// Reads up to `len` bytes of a request body starting at `offset` into `buf`;
// returns the count (0 only at the end). Offset-based so a retry or a curl
// rewind can start over without the caller keeping state.
using BodyReader = std::function<size_t(uint64_t offset, char* buf, size_t len)>;

// Receives response body bytes of a successful (2xx) response. Throwing
// aborts the transfer and the exception reaches the caller of perform().
using BodySink = std::function<void(const char* data, size_t len)>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // "Authorization" is redacted in logs
  std::optional<std::string> body;   // small bodies (JSON, forms)
  BodyReader body_reader;            // large bodies; needs body_size
  uint64_t body_size = 0;
  BodySink sink;                     // 2xx bodies go here instead of HttpResponse::body
  // Called with the status before the first byte reaches the sink (a resumed
  // download must know whether the server honoured Range: 206 or 200).
  std::function<void(long status)> on_sink_start;
  bool follow_redirects = true;
  // Transient failures (connection errors, 5xx, 429) are retried only when
  // this is set and the sink has not received anything yet. Unset, curl does
  // not re-send a partly sent body on a fresh connection either: the caller
  // counts and resolves every failure itself.
  bool retry = true;
};

struct HttpResponse {
  long status = 0;
  std::string url;  // after redirects
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;  // non-2xx bodies always; 2xx bodies when no sink (capped)
  uint64_t sink_bytes = 0;  // bytes handed to the sink

  // The first value of header `name` (lower-case), or "".
  std::string header(const std::string& name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

// A transport failure (no HTTP status): DNS, connect, TLS, reset, timeout,
// after retries. `sink_bytes` says how much of the body the sink had already
// received, so a download can resume with Range.
class TransportFailure : public Error {
 public:
  TransportFailure(std::string message, uint64_t sink_bytes)
      : Error(std::move(message)), sink_bytes_(sink_bytes) {}
  uint64_t sink_bytes() const { return sink_bytes_; }

 private:
  uint64_t sink_bytes_;
};

class HttpClient {
 public:
  explicit HttpClient(RegistryOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request, following redirects and retrying transient failures.
  // Returns any HTTP response (including 4xx/5xx after retries ran out);
  // throws Error on a transport failure after retries, mentioning the URL
  // without its query (which may carry upload state).
  HttpResponse perform(const HttpRequest& request);

  // "https://host" or "http://host" for insecure hosts.
  std::string base_url(const std::string& host) const;
  const RegistryOptions& options() const { return options_; }

  // How long to wait before retry `attempt` (0-based): exponential with
  // jitter, or the server's Retry-After when it gave one.
  std::chrono::milliseconds backoff(int attempt, const HttpResponse* response) const;

 private:
  // One exchange, no redirects or retries. Sets *transport_error on a
  // failure without an HTTP response, and *permanent when retrying cannot
  // help (an untrusted certificate).
  HttpResponse perform_once(const HttpRequest& request, std::string* transport_error, bool* permanent);

  RegistryOptions options_;
  struct Share;
  std::unique_ptr<Share> share_;
};

// "host[:port]" of a URL; "" when it does not parse.
std::string url_host(const std::string& url);
// The URL without query and fragment, for messages.
std::string url_for_display(const std::string& url);
// Percent-encodes a query component.
std::string url_escape(const std::string& s);

}  // namespace slipway::registry
