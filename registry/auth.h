#pragma once
// Registry authentication: anonymous, Basic, and Bearer tokens obtained from
// the token server named by a WWW-Authenticate challenge (GET with Basic
// credentials, or an OAuth2 refresh-token POST when an identity token is
// configured). Tokens are cached per scope set until shortly before they
// expire. Secrets never reach logs or error messages.
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/credentials.h"
#include "registry/http.h"

namespace slipway::registry {

struct Challenge {
  std::string scheme;  // lower-case: "basic", "bearer"
  std::map<std::string, std::string> params;  // realm, service, scope, error
};

// Parses a WWW-Authenticate header value (one or more challenges).
std::vector<Challenge> parse_www_authenticate(std::string_view header);

// "repository:<name>:<actions>".
std::string repository_scope(const std::string& repository, const std::string& actions);

class Authenticator {
 public:
  // Called at most once, on the first need for credentials.
  using CredentialSource = std::function<std::optional<FoundCredential>()>;

  Authenticator(HttpClient& http, std::string registry_host, CredentialSource credentials);

  // The Authorization header to send for a request needing `scopes`, or ""
  // while the registry's scheme is unknown or access is anonymous.
  std::string authorization(const std::vector<std::string>& scopes);

  // Learns from a 401 response and prepares credentials/a fresh token.
  // `sent` is the Authorization header the refused request carried ("" for
  // none): with parallel requests, one may have left before another learnt
  // the scheme, and it deserves a retry with credentials.
  // Returns false when nothing new can be tried (the caller reports the 401).
  bool on_unauthorized(const HttpResponse& response, const std::vector<std::string>& scopes,
                       const std::string& sent);

  // For error messages: where credentials came from, e.g.
  // "credentials from /root/.docker/config.json (user bob)", or "no credentials".
  std::string credential_description();

  int token_fetches() const { return token_fetches_; }

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  const std::optional<FoundCredential>& creds();
  std::string fetch_token(const std::vector<std::string>& scopes);
  static std::string scope_key(std::vector<std::string> scopes);

  HttpClient& http_;
  std::string host_;
  CredentialSource source_;
  std::mutex mu_;
  bool creds_loaded_ = false;
  std::optional<FoundCredential> creds_;
  std::string scheme_;  // "", "basic", "bearer"
  std::string realm_;
  std::string service_;
  std::map<std::string, Token> tokens_;
  int token_fetches_ = 0;
};

}  // namespace slipway::registry
