#pragma once
// A Docker token-auth issuer for tests: RS256 JWTs signed with a key made at
// test time (openssl CLI), served by TestHttpServer. docker-registry trusts
// it through `auth: token` with the certificate as rootcertbundle; tokens
// carry libtrust's key id ("kid") so the registry finds the key.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "registry/base64.h"
#include "tests/registry_fixture/http_server.h"
#include "tests/registry_fixture/registry_server.h"

namespace slipway::testing {

struct TokenServerConfig {
  std::string user = "alice";
  std::string password;
  std::string refresh_token;  // accepted by the OAuth2 POST when set
  int expires_in = 300;
  bool anonymous_pull = false;

  static TokenServerConfig with(std::string user, std::string password, int expires_in = 300,
                                std::string refresh_token = "") {
    TokenServerConfig c;
    c.user = std::move(user);
    c.password = std::move(password);
    c.expires_in = expires_in;
    c.refresh_token = std::move(refresh_token);
    return c;
  }
};

class TokenServer {
 public:
  static constexpr const char* kService = "slipway-test-registry";
  static constexpr const char* kIssuer = "slipway-test-issuer";

  TokenServer(const TempDir& dir, TokenServerConfig config) : config_(std::move(config)) {
    key_path_ = dir / "token.key";
    cert_path_ = dir / "token.crt";
    run("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key_path_ + " -out " + cert_path_ +
        " -days 2 -subj /CN=slipway-token-issuer 2>&1");
    FILE* f = std::fopen(key_path_.c_str(), "r");
    if (!f) throw std::runtime_error("cannot read " + key_path_);
    key_.reset(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    if (!key_) throw std::runtime_error("cannot parse " + key_path_);
    kid_ = libtrust_key_id(key_.get());
    server_ = std::make_unique<TestHttpServer>([this](const TestRequest& r) { return handle(r); });
  }

  std::string realm() const { return server_->url() + "/token"; }
  RegistryConfig registry_config() const {
    RegistryConfig c;
    c.token_realm = realm();
    c.token_service = kService;
    c.token_issuer = kIssuer;
    c.token_cert_bundle = cert_path_;
    return c;
  }
  std::vector<TestRequest> requests() { return server_->requests(); }
  std::vector<std::string> issued_tokens() {
    std::lock_guard lock(mu_);
    return issued_;
  }

 private:
  // libtrust KeyID: base32 of the first 240 bits of sha256(DER SPKI), in
  // twelve colon-separated groups of four.
  static std::string libtrust_key_id(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(key, &der);
    unsigned char md[32];
    unsigned int md_len = 0;
    EVP_Digest(der, static_cast<size_t>(len), md, &md_len, EVP_sha256(), nullptr);
    OPENSSL_free(der);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string b32;
    uint64_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 30; ++i) {
      acc = (acc << 8) | md[i];
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        b32 += alphabet[(acc >> bits) & 31];
      }
    }
    std::string id;
    for (size_t i = 0; i < b32.size(); i += 4) {
      if (!id.empty()) id += ':';
      id += b32.substr(i, 4);
    }
    return id;
  }

  std::string sign_jwt(const nlohmann::json& claims) {
    using registry::base64_encode;
    nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", kid_}};
    std::string input = base64_encode(header.dump(), true, false) + "." + base64_encode(claims.dump(), true, false);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    size_t sig_len = 0;
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get());
    EVP_DigestSign(ctx.get(), nullptr, &sig_len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string sig(sig_len, '\0');
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(sig_len);
    return input + "." + base64_encode(sig, true, false);
  }

  TestResponse handle(const TestRequest& r) {
    std::multimap<std::string, std::string> params = r.query;
    std::string subject;
    bool authenticated = false;
    if (r.method == "POST") {
      params = parse_form(r.body);
      auto gt = params.find("grant_type");
      auto rt = params.find("refresh_token");
      if (gt == params.end() || gt->second != "refresh_token" || config_.refresh_token.empty() ||
          rt == params.end() || rt->second != config_.refresh_token) {
        return {401, {{"Content-Type", "application/json"}}, R"({"error":"invalid_grant"})"};
      }
      authenticated = true;
      subject = config_.user;
      // OAuth2 sends scopes space-separated in one parameter.
      std::multimap<std::string, std::string> split;
      for (auto [it, end] = params.equal_range("scope"); it != end; ++it) {
        std::string all = it->second;
        size_t pos = 0;
        while (pos < all.size()) {
          size_t sp = all.find(' ', pos);
          split.emplace("scope", all.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos));
          if (sp == std::string::npos) break;
          pos = sp + 1;
        }
      }
      params.erase("scope");
      params.insert(split.begin(), split.end());
    } else if (auto a = r.headers.find("authorization"); a != r.headers.end()) {
      auto decoded = registry::base64_decode(a->second.substr(a->second.find(' ') + 1));
      if (a->second.rfind("Basic ", 0) != 0 || !decoded || *decoded != config_.user + ":" + config_.password) {
        return {401, {{"Content-Type", "application/json"}}, R"({"details":"incorrect username or password"})"};
      }
      authenticated = true;
      subject = config_.user;
    }
    nlohmann::json access = nlohmann::json::array();
    for (auto [it, end] = params.equal_range("scope"); it != end; ++it) {
      // repository:name:actions
      const std::string& s = it->second;
      auto c1 = s.find(':'), c2 = s.rfind(':');
      if (c1 == std::string::npos || c1 == c2) continue;
      std::vector<std::string> actions;
      std::string acts = s.substr(c2 + 1);
      size_t pos = 0;
      while (pos <= acts.size()) {
        size_t comma = acts.find(',', pos);
        std::string act = acts.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (authenticated || (config_.anonymous_pull && act == "pull")) actions.push_back(act);
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
      access.push_back({{"type", s.substr(0, c1)}, {"name", s.substr(c1 + 1, c2 - c1 - 1)}, {"actions", actions}});
    }
    long now = static_cast<long>(std::time(nullptr));
    nlohmann::json claims = {{"iss", kIssuer}, {"sub", subject}, {"aud", kService},
                             {"exp", now + config_.expires_in}, {"nbf", now - 10}, {"iat", now},
                             {"jti", std::to_string(++counter_) + "-" + std::to_string(now)}, {"access", access}};
    std::string token = sign_jwt(claims);
    {
      std::lock_guard lock(mu_);
      issued_.push_back(token);
    }
    nlohmann::json body = {{"access_token", token}, {"expires_in", config_.expires_in}};
    if (r.method != "POST") body["token"] = token;
    return {200, {{"Content-Type", "application/json"}}, body.dump()};
  }

  TokenServerConfig config_;
  std::string key_path_, cert_path_, kid_;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, &EVP_PKEY_free};
  std::atomic<int> counter_{0};
  std::mutex mu_;
  std::vector<std::string> issued_;
  std::unique_ptr<TestHttpServer> server_;
};

}  // namespace slipway::testing
