// Authentication against real docker-registry instances: htpasswd Basic and
// token auth (with a test issuer), credentials from config files and helpers,
// token caching, and no secret in any log line or error.
#include "registry/auth.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "registry/base64.h"
#include "registry/client.h"
#include "registry/log.h"
#include "tests/registry_fixture/registry_server.h"
#include "tests/registry_fixture/token_server.h"

using namespace slipway;
using namespace slipway::registry;
using slipway::testing::RegistryServer;
using slipway::testing::TempDir;
using slipway::testing::TokenServer;
using slipway::testing::TokenServerConfig;

namespace {

RegistryOptions plain(const RegistryServer& s) {
  RegistryOptions o;
  o.insecure_hosts.insert(s.host());
  o.retry_base_delay = std::chrono::milliseconds(5);
  return o;
}

Authenticator::CredentialSource creds(std::string user, std::string password) {
  return [=] { return std::optional<FoundCredential>(FoundCredential{Credential{user, password, "", ""}, "test"}); };
}

Authenticator::CredentialSource none() {
  return [] { return std::optional<FoundCredential>(); };
}

// Captures every log line at trace level (curl's own headers included).
struct LogCapture {
  std::vector<std::string> lines;
  LogCapture() {
    set_log_sink([this](LogLevel, const std::string& l) { lines.push_back(l); }, LogLevel::kTrace);
  }
  ~LogCapture() { set_log_sink(nullptr); }
  std::string all() const {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

}  // namespace

TEST_CASE("WWW-Authenticate challenges parse") {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].params["realm"] == "https://auth.example/token");
  CHECK(c[0].params["service"] == "registry.example");
  CHECK(c[0].params["scope"] == "repository:a/b:pull,push");
  auto two = parse_www_authenticate(R"(Basic realm="x y", Bearer realm="r",error="insufficient_scope")");
  REQUIRE(two.size() == 2);
  CHECK(two[0].scheme == "basic");
  CHECK(two[0].params["realm"] == "x y");
  CHECK(two[1].params["error"] == "insufficient_scope");
}

TEST_CASE("htpasswd Basic auth: anonymous and wrong passwords fail with a hint, right ones work") {
  const std::string password = "s3cret-Basic-pw";
  RegistryServer server(slipway::testing::RegistryConfig::basic("bob", password));
  BlobSource blob = BlobSource::from_string("basic auth blob");

  RegistryClient anon(server.host(), plain(server), none());
  std::string err = error_of([&] { anon.push_blob("b/x", blob); });
  CHECK_THAT(err, Catch::Contains("401"));
  CHECK_THAT(err, Catch::Contains(server.host() + "/b/x"));
  CHECK_THAT(err, Catch::Contains("no credentials"));

  LogCapture logs;
  RegistryClient wrong(server.host(), plain(server), creds("bob", "wrong-" + password));
  err = error_of([&] { wrong.push_blob("b/x", blob); });
  CHECK_THAT(err, Catch::Contains("authentication failed"));
  CHECK_THAT(err, Catch::Contains("user bob"));
  CHECK_THAT(err, !Catch::Contains(password));

  RegistryClient good(server.host(), plain(server), creds("bob", password));
  CHECK(good.push_blob("b/x", blob) == BlobPush::kUploaded);
  std::string back;
  good.get_blob("b/x", blob.digest, [&](const char* p, size_t n) { back.append(p, n); });
  CHECK(back == "basic auth blob");
  std::string all = logs.all();
  CHECK_THAT(all, Catch::Contains("Authorization: <redacted>"));
  CHECK_THAT(all, !Catch::Contains(password));
  CHECK_THAT(all, !Catch::Contains(base64_encode("bob:" + password)));
}

TEST_CASE("token auth: scopes, caching per scope, mount, denial, no secret in logs") {
  TempDir dir;
  const std::string password = "Tok3n-Auth-Password";
  TokenServer tokens(dir, TokenServerConfig::with("alice", password));
  RegistryServer server(tokens.registry_config());
  LogCapture logs;

  RegistryClient c(server.host(), plain(server), creds("alice", password));
  BlobSource a = BlobSource::from_string("token blob a");
  BlobSource b = BlobSource::from_string("token blob b");
  CHECK(c.push_blob("t/app", a) == BlobPush::kUploaded);
  // One token (pull,push) serves the HEAD, POST, PATCH and PUT of a push.
  int after_first = static_cast<int>(tokens.requests().size());
  CHECK(after_first == 1);
  // Same scopes again: all tokens come from the cache.
  CHECK(c.push_blob("t/app", b) == BlobPush::kUploaded);
  CHECK(c.push_blob("t/app", b) == BlobPush::kExisted);
  std::string back;
  c.get_blob("t/app", a.digest, [&](const char* p, size_t n) { back.append(p, n); });
  CHECK(back == "token blob a");
  CHECK(static_cast<int>(tokens.requests().size()) == after_first + 1);  // + the pull-only scope
  c.get_blob_bytes("t/app", b.digest);
  CHECK(c.blob_size("t/app", b.digest) == b.size);
  CHECK(static_cast<int>(tokens.requests().size()) == after_first + 1);
  CHECK(c.token_fetches() == after_first + 1);

  // A mount asks for pull on the source repository too.
  CHECK(c.push_blob("t/other", a, {"t/app"}) == BlobPush::kMounted);
  bool saw_mount_scope = false;
  for (const auto& r : tokens.requests()) {
    if (r.query.count("scope") == 2) saw_mount_scope = true;
    CHECK(r.query.find("service")->second == TokenServer::kService);
  }
  CHECK(saw_mount_scope);

  // Anonymous clients get a token without access: the registry says no.
  RegistryClient anon(server.host(), plain(server), none());
  std::string err = error_of([&] { anon.blob_size("t/app", a.digest); });
  CHECK_THAT(err, Catch::Contains("401"));
  CHECK_THAT(err, Catch::Contains("insufficient_scope"));
  CHECK_THAT(err, Catch::Contains("check the credentials"));
  err = error_of([&] { anon.get_blob_bytes("t/app", a.digest); });
  CHECK_THAT(err, Catch::Contains("UNAUTHORIZED: authentication required"));

  // A wrong password is refused by the token server.
  RegistryClient wrong(server.host(), plain(server), creds("alice", "nope-" + password));
  err = error_of([&] { wrong.blob_size("t/app", a.digest); });
  CHECK_THAT(err, Catch::Contains("token server"));
  CHECK_THAT(err, Catch::Contains("user alice"));

  std::string all = logs.all() + err;
  CHECK_THAT(all, !Catch::Contains(password));
  for (const auto& t : tokens.issued_tokens()) {
    // The signature part is what makes a token usable; neither it nor the
    // whole token may show up.
    CHECK_THAT(all, !Catch::Contains(t.substr(t.rfind('.') + 1)));
  }
}

TEST_CASE("token auth: short-lived tokens are refreshed") {
  TempDir dir;
  TokenServer tokens(dir, TokenServerConfig::with("alice", "pw", 5));
  RegistryServer server(tokens.registry_config());
  RegistryClient c(server.host(), plain(server), creds("alice", "pw"));
  BlobSource a = BlobSource::from_string("x");
  c.push_blob("t/app", a);
  size_t n = tokens.requests().size();
  // 5 s of validity is inside the refresh margin: every use fetches anew.
  c.blob_size("t/app", a.digest);
  CHECK(tokens.requests().size() > n);
}

TEST_CASE("identity tokens use the OAuth2 refresh-token grant") {
  TempDir dir;
  const std::string refresh = "refresh-IDENTITY-token-xyz";
  TokenServer tokens(dir, TokenServerConfig::with("alice", "unused", 300, refresh));
  RegistryServer server(tokens.registry_config());
  LogCapture logs;
  RegistryClient c(server.host(), plain(server), [=] {
    return std::optional<FoundCredential>(FoundCredential{Credential{"", "", refresh, ""}, "test"});
  });
  BlobSource a = BlobSource::from_string("identity");
  CHECK(c.push_blob("id/app", a) == BlobPush::kUploaded);
  auto reqs = tokens.requests();
  REQUIRE_FALSE(reqs.empty());
  CHECK(reqs.back().method == "POST");
  CHECK_THAT(reqs.back().body, Catch::Contains("grant_type=refresh_token"));
  CHECK_THAT(logs.all(), !Catch::Contains(refresh));

  RegistryClient bad(server.host(), plain(server), [] {
    return std::optional<FoundCredential>(FoundCredential{Credential{"", "", "stale-token", ""}, "test"});
  });
  CHECK_THROWS_WITH(bad.blob_size("id/app", a.digest), Catch::Contains("token server"));
}

namespace {

// Sets environment variables for one test and restores them.
struct EnvGuard {
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  void set(const std::string& name, const std::optional<std::string>& value) {
    const char* old = std::getenv(name.c_str());
    saved.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value) setenv(name.c_str(), value->c_str(), 1);
    else unsetenv(name.c_str());
  }
  ~EnvGuard() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
      if (it->second) setenv(it->first.c_str(), it->second->c_str(), 1);
      else unsetenv(it->first.c_str());
    }
  }
};

}  // namespace

TEST_CASE("credentials from docker config files, helpers and credsStore") {
  TempDir dir;
  EnvGuard env;
  env.set("REGISTRY_AUTH_FILE", std::nullopt);
  env.set("XDG_RUNTIME_DIR", std::nullopt);
  env.set("DOCKER_CONFIG", dir.path());
  env.set("PATH", dir.path() + ":" + std::string(std::getenv("PATH")));
  slipway::testing::write_file(dir / "docker-credential-test",
                               "#!/bin/sh\nread host\n"
                               "case \"$host\" in\n"
                               "  helped.example) echo '{\"ServerURL\":\"helped.example\",\"Username\":\"hu\",\"Secret\":\"hs\"}';;\n"
                               "  https://index.docker.io/v1/) echo '{\"Username\":\"<token>\",\"Secret\":\"idtok\"}';;\n"
                               "  *) echo 'credentials not found in native keychain'; exit 1;;\n"
                               "esac\n");
  chmod((dir / "docker-credential-test").c_str(), 0755);
  slipway::testing::write_file(dir / "config.json", R"({
    "auths": {
      "https://plain.example/v1/": {"auth": ")" + base64_encode("pu:pp:with:colons") + R"("},
      "split.example": {"username": "su", "password": "sp"}
    },
    "credHelpers": {"helped.example": "test", "docker.io": "test"}
  })");
  auto plain = find_credentials("plain.example");
  REQUIRE(plain);
  CHECK(plain->credential.username == "pu");
  CHECK(plain->credential.password == "pp:with:colons");
  CHECK(plain->source == dir / "config.json");
  CHECK(find_credentials("split.example")->credential.password == "sp");
  auto helped = find_credentials("helped.example");
  REQUIRE(helped);
  CHECK(helped->credential.username == "hu");
  CHECK(helped->source == "docker-credential-test");
  auto hub = find_credentials("docker.io");
  REQUIRE(hub);
  CHECK(hub->credential.identity_token == "idtok");
  CHECK_FALSE(find_credentials("unknown.example"));

  // credsStore covers every registry not otherwise listed.
  slipway::testing::write_file(dir / "config.json", R"({"auths": {"helped.example": {}}, "credsStore": "test"})");
  CHECK(find_credentials("helped.example")->credential.password == "hs");
  CHECK_FALSE(find_credentials("other.example"));

  // REGISTRY_AUTH_FILE is searched first.
  slipway::testing::write_file(dir / "auth.json",
                               R"({"auths": {"helped.example": {"auth": ")" + base64_encode("first:one") + R"("}}})");
  env.set("REGISTRY_AUTH_FILE", dir / "auth.json");
  CHECK(find_credentials("helped.example")->credential.username == "first");
  // Then podman's per-session file, then docker's config.
  env.set("REGISTRY_AUTH_FILE", std::nullopt);
  env.set("XDG_RUNTIME_DIR", dir / "run");
  std::filesystem::create_directories(dir / "run/containers");
  slipway::testing::write_file(dir / "run/containers/auth.json",
                               R"({"auths": {"helped.example": {"auth": ")" + base64_encode("xdg:two") + R"("}}})");
  CHECK(find_credentials("helped.example")->credential.username == "xdg");
  CHECK(find_credentials("helped.example")->source == dir / "run/containers/auth.json");
  env.set("XDG_RUNTIME_DIR", std::nullopt);

  // A broken helper is an error naming it.
  slipway::testing::write_file(dir / "config.json", R"({"credHelpers": {"x.example": "missing"}})");
  env.set("REGISTRY_AUTH_FILE", std::nullopt);
  CHECK_THROWS_WITH(find_credentials("x.example"), Catch::Contains("docker-credential-missing"));
  slipway::testing::write_file(dir / "config.json", R"({"auths": {"y.example": {"auth": "!!notbase64"}}})");
  CHECK_THROWS_WITH(find_credentials("y.example"), Catch::Contains("config.json"));
}

TEST_CASE("a credential helper on PATH logs in to a real registry; its secret never shows") {
  TempDir dir;
  const std::string password = "Helper-Secret-9f8e7d";
  RegistryServer server(slipway::testing::RegistryConfig::basic("helper-user", password));
  EnvGuard env;
  env.set("REGISTRY_AUTH_FILE", std::nullopt);
  env.set("XDG_RUNTIME_DIR", std::nullopt);
  env.set("DOCKER_CONFIG", dir.path());
  env.set("PATH", dir.path() + ":" + std::string(std::getenv("PATH")));
  slipway::testing::write_file(dir / "docker-credential-test",
                               "#!/bin/sh\nread host\n[ \"$host\" = \"" + server.host() +
                                   "\" ] || { echo 'credentials not found'; exit 1; }\n"
                                   "echo '{\"ServerURL\":\"'$host'\",\"Username\":\"helper-user\",\"Secret\":\"" +
                                   password + "\"}'\n");
  chmod((dir / "docker-credential-test").c_str(), 0755);
  slipway::testing::write_file(dir / "config.json", R"({"credHelpers": {")" + server.host() + R"(": "test"}})");
  LogCapture logs;
  RegistryClient c(server.host(), plain(server));  // default lookup
  BlobSource a = BlobSource::from_string("helper blob");
  CHECK(c.push_blob("h/app", a) == BlobPush::kUploaded);
  CHECK(c.blob_size("h/app", a.digest) == a.size);
  std::string all = logs.all();
  CHECK_THAT(all, Catch::Contains("docker-credential-test"));
  CHECK_THAT(all, !Catch::Contains(password));
  CHECK_THAT(all, !Catch::Contains(base64_encode("helper-user:" + password)));
}

TEST_CASE("basic: a request sent before the scheme was learnt is retried with credentials", "[auth]") {
  // Parallel uploads: two requests leave without credentials, both get 401.
  // The first 401 teaches the scheme; the second must not be given up on.
  HttpClient http{RegistryOptions{}};
  Authenticator auth(http, "registry.test", creds("bob", "pw"));
  HttpResponse challenge;
  challenge.status = 401;
  challenge.headers.emplace("www-authenticate", "Basic realm=\"registry\"");
  std::vector<std::string> scopes = {"repository:app:pull"};
  CHECK(auth.on_unauthorized(challenge, scopes, ""));
  CHECK(auth.on_unauthorized(challenge, scopes, ""));
  std::string header = auth.authorization(scopes);
  CHECK(header.rfind("Basic ", 0) == 0);
  // Refused *with* credentials: nothing new to try.
  CHECK_FALSE(auth.on_unauthorized(challenge, scopes, header));
}
