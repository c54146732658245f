#include "registry/http.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

#include "registry/log.h"

namespace slipway::registry {
namespace {

// A response body we keep in memory (manifests, error JSON, token replies).
// Manifests are limited to 4 MiB by registries; this leaves room.
constexpr size_t kMaxBufferedBody = 8u << 20;
constexpr int kMaxRedirects = 10;
// Per blob transfer; 512 KiB is the largest download buffer every libcurl
// since 7.53 accepts (CURL_MAX_READ_SIZE), and uploads take up to 2 MiB.
constexpr long kBlobBufferSize = 512L << 10;

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

void ensure_curl_global() {
  static CurlGlobal g;
  (void)g;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

bool is_secret_header(const std::string& name) {
  std::string n = lower(name);
  return n == "authorization" || n == "proxy-authorization" || n == "cookie" || n == "set-cookie";
}

// Rewrites header lines from curl's debug output so credentials never reach
// the log.
std::string redact_header_block(const char* data, size_t size) {
  std::string in(data, size), out;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t eol = in.find('\n', pos);
    std::string line = in.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? in.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto colon = line.find(':');
    if (colon != std::string::npos && is_secret_header(line.substr(0, colon))) {
      line = line.substr(0, colon) + ": <redacted>";
    }
    out += line + "\n";
  }
  return out;
}

int debug_callback(CURL*, curl_infotype type, char* data, size_t size, void*) {
  switch (type) {
    case CURLINFO_TEXT:
      log(LogLevel::kTrace, "curl: " + trim(std::string(data, size)));
      break;
    case CURLINFO_HEADER_OUT:
      log(LogLevel::kTrace, "> " + redact_header_block(data, size));
      break;
    case CURLINFO_HEADER_IN:
      log(LogLevel::kTrace, "< " + redact_header_block(data, size));
      break;
    default:
      break;  // bodies may hold tokens; never logged
  }
  return 0;
}

struct Transfer {
  CURL* handle = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  uint64_t upload_pos = 0;
  const std::string* upload_string = nullptr;
  std::exception_ptr error;  // thrown by the sink or body reader
  bool too_large = false;
  bool sink_started = false;
  bool rewind_refused = false;
};

size_t header_callback(char* data, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  std::string line(data, size * nitems);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response->headers.clear();  // a new response (after 100 Continue)
    return size * nitems;
  }
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    t->response->headers.emplace(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  return size * nitems;
}

size_t write_callback(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && t->request->sink) {
    try {
      if (!t->sink_started) {
        t->sink_started = true;
        if (t->request->on_sink_start) t->request->on_sink_start(status);
      }
      t->request->sink(data, n);
    } catch (...) {
      t->error = std::current_exception();
      return 0;
    }
    t->response->sink_bytes += n;
    return n;
  }
  if (t->response->body.size() + n > kMaxBufferedBody) {
    t->too_large = true;
    return 0;
  }
  t->response->body.append(data, n);
  return n;
}

size_t read_callback(char* buf, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t want = size * nitems;
  size_t got = 0;
  try {
    if (t->upload_string) {
      const std::string& s = *t->upload_string;
      if (t->upload_pos < s.size()) {
        got = std::min<size_t>(want, s.size() - t->upload_pos);
        std::copy_n(s.data() + t->upload_pos, got, buf);
      }
    } else {
      uint64_t left = t->request->body_size - t->upload_pos;
      if (left > 0) got = t->request->body_reader(t->upload_pos, buf, std::min<uint64_t>(want, left));
    }
  } catch (...) {
    t->error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
  t->upload_pos += got;
  return got;
}

int seek_callback(void* userdata, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(userdata);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  // curl rewinds to send a body again on a fresh connection when a reused
  // one died mid-request. For a request its caller retries itself (a PATCH
  // into an upload session that may hold part of it) that would be an
  // attempt beyond --push-retry, and usually a wasted one.
  if (!t->request->retry && t->upload_pos > 0) {
    t->rewind_refused = true;
    return CURL_SEEKFUNC_FAIL;
  }
  t->upload_pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

struct UrlHandle {
  CURLU* u = curl_url();
  ~UrlHandle() { curl_url_cleanup(u); }
  std::string get(CURLUPart part) const {
    char* s = nullptr;
    if (curl_url_get(u, part, &s, 0) != CURLUE_OK) return "";
    std::string r(s);
    curl_free(s);
    return r;
  }
};

std::string resolve_location(const std::string& base, const std::string& location) {
  UrlHandle h;
  if (curl_url_set(h.u, CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) return "";
  if (curl_url_set(h.u, CURLUPART_URL, location.c_str(), 0) != CURLUE_OK) return "";
  return h.get(CURLUPART_URL);
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

// Connections, DNS answers and TLS sessions are shared between the easy
// handles of all requests, so a push of many blobs reuses one connection.
struct HttpClient::Share {
  CURLSH* sh = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];

  Share() {
    sh = curl_share_init();
    curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, &Share::lock);
    curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, &Share::unlock);
    curl_share_setopt(sh, CURLSHOPT_USERDATA, this);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~Share() { curl_share_cleanup(sh); }
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* p) {
    static_cast<Share*>(p)->locks[data].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* p) { static_cast<Share*>(p)->locks[data].unlock(); }
};

HttpClient::HttpClient(RegistryOptions options) : options_(std::move(options)) {
  ensure_curl_global();
  share_ = std::make_unique<Share>();
}

HttpClient::~HttpClient() = default;

std::string HttpClient::base_url(const std::string& host) const {
  return (options_.insecure_hosts.count(host) ? "http://" : "https://") + host;
}

std::chrono::milliseconds HttpClient::backoff(int attempt, const HttpResponse* response) const {
  if (response) {
    std::string ra = response->header("retry-after");
    if (!ra.empty() && std::all_of(ra.begin(), ra.end(), ::isdigit) && ra.size() < 7) {
      return std::min(options_.retry_max_delay, std::chrono::milliseconds(std::stol(ra) * 1000));
    }
  }
  std::chrono::milliseconds delay(options_.retry_base_delay.count() * (1LL << std::min(attempt, 16)));
  delay = std::min(delay, options_.retry_max_delay);
  // Full jitter in the upper half, so many clients hitting a busy registry
  // spread out but still back off.
  thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> dist(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(delay.count()) * dist(rng)));
}

HttpResponse HttpClient::perform(const HttpRequest& request) {
  HttpRequest cur = request;
  int redirects = 0;
  int attempt = 0;
  for (;;) {
    std::string transport_error;
    bool permanent = false;
    HttpResponse resp = perform_once(cur, &transport_error, &permanent);
    if (!transport_error.empty()) {
      if (cur.retry && !permanent && resp.sink_bytes == 0 && attempt < options_.retries) {
        auto wait = backoff(attempt++, nullptr);
        log(LogLevel::kDebug, cur.method + " " + url_for_display(cur.url) + ": " + transport_error +
                                  "; retrying in " + std::to_string(wait.count()) + "ms");
        std::this_thread::sleep_for(wait);
        continue;
      }
      throw TransportFailure(cur.method + " " + url_for_display(cur.url) + ": " + transport_error,
                             resp.sink_bytes);
    }
    if (cur.follow_redirects && is_redirect(resp.status)) {
      std::string location = resp.header("location");
      std::string next = location.empty() ? "" : resolve_location(cur.url, location);
      if (next.empty()) {
        throw Error(cur.method + " " + url_for_display(cur.url) + ": redirect " +
                    std::to_string(resp.status) + " without a usable Location");
      }
      if (++redirects > kMaxRedirects) throw Error(cur.method + " " + url_for_display(request.url) + ": too many redirects");
      if (url_host(next) != url_host(cur.url) || lower(next.substr(0, 5)) != lower(cur.url.substr(0, 5))) {
        // Blob storage (S3, GCS, a CDN) gets a pre-signed URL; our registry
        // credentials must not follow it there.
        std::erase_if(cur.headers, [](const auto& h) { return is_secret_header(h.first); });
      }
      if (resp.status == 303 && cur.method != "HEAD") {
        cur.method = "GET";
        cur.body.reset();
        cur.body_reader = nullptr;
        cur.body_size = 0;
      }
      log(LogLevel::kDebug, "redirected to " + url_for_display(next));
      cur.url = next;
      continue;
    }
    if (cur.retry && (resp.status >= 500 || resp.status == 429) && attempt < options_.retries) {
      auto wait = backoff(attempt++, &resp);
      log(LogLevel::kDebug, cur.method + " " + url_for_display(cur.url) + ": HTTP " + std::to_string(resp.status) +
                                "; retrying in " + std::to_string(wait.count()) + "ms");
      std::this_thread::sleep_for(wait);
      continue;
    }
    resp.url = cur.url;
    return resp;
  }
}

HttpResponse HttpClient::perform_once(const HttpRequest& request, std::string* transport_error, bool* permanent) {
  HttpResponse resp;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> holder(curl_easy_init(), &curl_easy_cleanup);
  CURL* h = holder.get();
  if (!h) throw Error("cannot initialise libcurl");
  Transfer t;
  t.handle = h;
  t.request = &request;
  t.response = &resp;

  curl_easy_setopt(h, CURLOPT_SHARE, share_->sh);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_USERAGENT, "slipway");
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                   options_.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_seconds);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, options_.low_speed_timeout_seconds);
  // Registries may gzip JSON; blobs must arrive byte-exact for their digest.
  if (!request.sink) curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  // Blob bodies: curl's defaults (16 KiB in, 64 KiB out) cost a recv, a
  // sink call and a content-store write (or a pread and a send) per few KiB.
  if (request.sink) curl_easy_setopt(h, CURLOPT_BUFFERSIZE, kBlobBufferSize);
  if (request.body_reader) curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, kBlobBufferSize);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

  std::string host = url_host(request.url);
  // SSL_CERT_FILE and SSL_CERT_DIR, as OpenSSL, Go and Kaniko's image read
  // them: a CI job mounts its private CA bundle and points them at it.
  const char* cert_file = ::getenv("SSL_CERT_FILE");
  const char* cert_dir = ::getenv("SSL_CERT_DIR");
  if (cert_dir && *cert_dir) curl_easy_setopt(h, CURLOPT_CAPATH, cert_dir);
  if (auto it = options_.ca_files.find(host); it != options_.ca_files.end()) {
    // The registry's CA in addition to the system ones (CAPATH).
    curl_easy_setopt(h, CURLOPT_CAINFO, it->second.c_str());
    if (!(cert_dir && *cert_dir) && ::access("/etc/ssl/certs", R_OK) == 0) {
      curl_easy_setopt(h, CURLOPT_CAPATH, "/etc/ssl/certs");
    }
  } else if (cert_file && *cert_file) {
    curl_easy_setopt(h, CURLOPT_CAINFO, cert_file);
  }
  if (options_.skip_tls_verify_hosts.count(host)) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (auto it = options_.client_certs.find(host); it != options_.client_certs.end()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, it->second.cert_file.c_str());
    curl_easy_setopt(h, CURLOPT_SSLKEY, it->second.key_file.c_str());
  }

  struct SlistHolder {
    curl_slist* list = nullptr;
    ~SlistHolder() { curl_slist_free_all(list); }
    void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
  } headers;
  bool has_body = request.body.has_value() || request.body_reader;
  static const std::string kEmpty;
  if (request.body) t.upload_string = &*request.body;
  else if (!request.body_reader) t.upload_string = &kEmpty;
  curl_off_t body_size = static_cast<curl_off_t>(request.body ? request.body->size() : request.body_size);
  const std::string& m = request.method;
  if (m == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (m == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (m == "DELETE") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else if (m == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, has_body ? body_size : curl_off_t{0});
  } else {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, has_body ? body_size : curl_off_t{0});
    if (m != "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m.c_str());
  }
  if (m == "POST" || m == "PUT" || m == "PATCH") {
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_callback);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_callback);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
  }
  for (const auto& [name, value] : request.headers) headers.add(name + ": " + value);
  // No 100-continue round trip: registries answer uploads directly.
  headers.add("Expect:");
  if (m == "POST" && !has_body) headers.add("Content-Type:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.list);

  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_callback);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_callback);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  if (log_enabled(LogLevel::kTrace)) {
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_callback);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
  }

  log(LogLevel::kDebug, m + " " + url_for_display(request.url));
  CURLcode rc = curl_easy_perform(h);
  if (t.error) std::rethrow_exception(t.error);
  if (t.too_large) throw Error(m + " " + url_for_display(request.url) + ": response body too large");
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  if (rc != CURLE_OK) {
    *transport_error = errbuf[0] ? trim(errbuf) : curl_easy_strerror(rc);
    if (t.rewind_refused) *transport_error = "connection lost while sending the request body";
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM) {
      *transport_error += " (for a private CA use --registry-certificate " + host +
                          "=CA.pem; --skip-tls-verify-registry " + host + " turns verification off)";
      *permanent = true;
    }
    if (rc == CURLE_SSL_CONNECT_ERROR && transport_error->find("wrong version number") != std::string::npos) {
      *transport_error += " (the server may speak plain HTTP: use --insecure-registry " + host + " if it should)";
      *permanent = true;
    }
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT || rc == CURLE_SSL_ENGINE_NOTFOUND) {
      *permanent = true;
    }
    return resp;
  }
  log(LogLevel::kDebug, m + " " + url_for_display(request.url) + " -> " + std::to_string(resp.status));
  return resp;
}

std::string url_host(const std::string& url) {
  UrlHandle h;
  if (curl_url_set(h.u, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  std::string host = lower(h.get(CURLUPART_HOST));
  std::string port = h.get(CURLUPART_PORT);
  return port.empty() ? host : host + ":" + port;
}

std::string url_for_display(const std::string& url) {
  auto cut = url.find_first_of("?#");
  return cut == std::string::npos ? url : url.substr(0, cut);
}

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace slipway::registry
