#include "registry/auth.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "registry/base64.h"
#include "registry/log.h"

namespace slipway::registry {
namespace {

using nlohmann::json;

// Tokens are refreshed this long before they expire, so a request never
// starts with a token that dies in flight.
constexpr std::chrono::seconds kExpirySlack{10};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string basic_header(const Credential& c) {
  return "Basic " + base64_encode(c.username + ":" + c.password);
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view h) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
  };
  auto token = [&] {
    size_t start = i;
    while (i < h.size() && h[i] != ' ' && h[i] != '\t' && h[i] != '=' && h[i] != ',') ++i;
    return std::string(h.substr(start, i - start));
  };
  while (true) {
    skip_ws();
    if (i >= h.size()) break;
    std::string word = token();
    if (i < h.size() && h[i] == '=') {
      // A parameter of the current challenge.
      ++i;
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        while (i < h.size() && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value += h[i++];
        }
        ++i;
      } else {
        value = token();
      }
      if (!out.empty()) out.back().params[lower(word)] = value;
    } else if (!word.empty()) {
      out.push_back(Challenge{lower(word), {}});
    }
  }
  return out;
}

std::string repository_scope(const std::string& repository, const std::string& actions) {
  return "repository:" + repository + ":" + actions;
}

Authenticator::Authenticator(HttpClient& http, std::string registry_host, CredentialSource credentials)
    : http_(http), host_(std::move(registry_host)), source_(std::move(credentials)) {}

const std::optional<FoundCredential>& Authenticator::creds() {
  if (!creds_loaded_) {
    creds_loaded_ = true;
    if (source_) creds_ = source_();
    if (creds_) log(LogLevel::kDebug, "using " + credential_description());
  }
  return creds_;
}

std::string Authenticator::credential_description() {
  if (!creds_loaded_ || !creds_) return "no credentials (anonymous)";
  const Credential& c = creds_->credential;
  std::string who = !c.username.empty() ? "user " + c.username
                    : !c.identity_token.empty() ? "an identity token"
                                                : "a registry token";
  return "credentials from " + creds_->source + " (" + who + ")";
}

std::string Authenticator::scope_key(std::vector<std::string> scopes) {
  std::sort(scopes.begin(), scopes.end());
  scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
  return join(scopes, " ");
}

std::string Authenticator::authorization(const std::vector<std::string>& scopes) {
  std::lock_guard lock(mu_);
  if (scheme_ == "basic") {
    const auto& c = creds();
    if (c && !c->credential.username.empty()) return basic_header(c->credential);
    return "";
  }
  if (scheme_ != "bearer") return "";
  const auto& c = creds();
  if (c && !c->credential.registry_token.empty()) return "Bearer " + c->credential.registry_token;
  std::string key = scope_key(scopes);
  auto it = tokens_.find(key);
  if (it != tokens_.end() && std::chrono::steady_clock::now() + kExpirySlack < it->second.expires) {
    return "Bearer " + it->second.value;
  }
  // The realm is known: fetch the token now instead of paying a 401.
  std::string t = fetch_token(scopes);
  return t.empty() ? "" : "Bearer " + t;
}

bool Authenticator::on_unauthorized(const HttpResponse& response, const std::vector<std::string>& scopes,
                                    const std::string& sent) {
  std::lock_guard lock(mu_);
  auto challenges = parse_www_authenticate(response.header("www-authenticate"));
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const auto& ch : challenges) {
    if (ch.scheme == "bearer" && !bearer) bearer = &ch;
    if (ch.scheme == "basic" && !basic) basic = &ch;
  }
  if (bearer) {
    auto realm = bearer->params.find("realm");
    if (realm == bearer->params.end() || realm->second.empty()) return false;
    bool was_bearer = scheme_ == "bearer";
    scheme_ = "bearer";
    realm_ = realm->second;
    auto service = bearer->params.find("service");
    service_ = service == bearer->params.end() ? "" : service->second;
    const auto& c = creds();
    if (c && !c->credential.registry_token.empty()) return !was_bearer;
    std::vector<std::string> want = scopes;
    if (auto s = bearer->params.find("scope"); s != bearer->params.end() && !s->second.empty()) {
      // The registry may name scopes we did not guess (e.g. a mount source).
      std::string all = s->second;
      size_t pos = 0;
      while (pos <= all.size()) {
        size_t sp = all.find(' ', pos);
        std::string one = all.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
        if (!one.empty() && std::find(want.begin(), want.end(), one) == want.end()) want.push_back(one);
        if (sp == std::string::npos) break;
        pos = sp + 1;
      }
    }
    std::string key = scope_key(scopes);
    auto it = tokens_.find(key);
    bool had_fresh = it != tokens_.end() && it->second.value.size() > 0 &&
                     std::chrono::steady_clock::now() + kExpirySlack < it->second.expires;
    std::string old = had_fresh ? it->second.value : "";
    tokens_.erase(key);
    std::string t = fetch_token(want);
    if (t.empty()) return false;
    tokens_[key] = tokens_[scope_key(want)];
    // The same token again cannot change the registry's answer.
    return t != old;
  }
  if (basic) {
    if (scheme_ == "basic" && !sent.empty()) return false;  // credentials were already sent
    scheme_ = "basic";
    const auto& c = creds();
    return c && !c->credential.username.empty();
  }
  return false;
}

std::string Authenticator::fetch_token(const std::vector<std::string>& scopes) {
  const auto& c = creds();
  ++token_fetches_;
  HttpResponse resp;
  bool posted = false;
  if (c && !c->credential.identity_token.empty()) {
    // OAuth2 refresh-token grant (docker's identity tokens).
    std::string form = "grant_type=refresh_token&client_id=slipway&service=" + url_escape(service_) +
                       "&scope=" + url_escape(join(scopes, " ")) +
                       "&refresh_token=" + url_escape(c->credential.identity_token);
    HttpRequest req;
    req.method = "POST";
    req.url = realm_;
    req.body = form;
    req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    resp = http_.perform(req);
    posted = true;
  }
  if (!posted || resp.status == 404 || resp.status == 405) {
    // Token servers without OAuth2 support get the plain GET.
    std::string url = realm_ + (realm_.find('?') == std::string::npos ? "?" : "&");
    url += "service=" + url_escape(service_);
    for (const auto& s : scopes) url += "&scope=" + url_escape(s);
    HttpRequest req;
    if (c && !c->credential.username.empty()) {
      url += "&account=" + url_escape(c->credential.username);
      req.headers.push_back({"Authorization", basic_header(c->credential)});
    }
    req.url = url;
    resp = http_.perform(req);
  }
  log(LogLevel::kDebug, "token for " + host_ + " scope \"" + join(scopes, " ") + "\": HTTP " +
                            std::to_string(resp.status));
  if (resp.status == 401 || resp.status == 403) {
    throw Error("authentication to " + host_ + " failed at its token server " + url_for_display(realm_) +
                " (HTTP " + std::to_string(resp.status) + ", " + credential_description() +
                "); check the credentials (docker login " + host_ + ")");
  }
  if (!resp.ok()) {
    throw Error("token server " + url_for_display(realm_) + " for " + host_ + " answered HTTP " +
                std::to_string(resp.status));
  }
  json j = json::parse(resp.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error("token server " + url_for_display(realm_) + " for " + host_ + " returned no JSON object");
  }
  std::string tok;
  if (j.contains("token") && j["token"].is_string()) tok = j["token"].get<std::string>();
  if (tok.empty() && j.contains("access_token") && j["access_token"].is_string()) {
    tok = j["access_token"].get<std::string>();
  }
  if (tok.empty()) throw Error("token server " + url_for_display(realm_) + " for " + host_ + " returned no token");
  long long expires_in = 60;  // the distribution spec's default
  if (j.contains("expires_in") && j["expires_in"].is_number_integer()) {
    expires_in = std::max<long long>(j["expires_in"].get<long long>(), 1);
  }
  tokens_[scope_key(scopes)] = Token{tok, std::chrono::steady_clock::now() + std::chrono::seconds(expires_in)};
  return tok;
}

}  // namespace slipway::registry
