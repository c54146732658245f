#include "registry/credentials.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fd.h"
#include "registry/base64.h"

extern char** environ;

namespace slipway::registry {
namespace {

using nlohmann::json;

bool is_docker_hub(const std::string& host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

// "https://host:5000/v1/" -> "host:5000", as docker normalises auths keys.
std::string key_to_host(std::string key) {
  if (auto p = key.find("://"); p != std::string::npos) key = key.substr(p + 3);
  if (auto p = key.find('/'); p != std::string::npos) key = key.substr(0, p);
  return key;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Credential from_auth_entry(const json& entry, const std::string& path) {
  Credential c;
  std::string auth = string_field(entry, "auth");
  if (!auth.empty()) {
    auto decoded = base64_decode(auth);
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) throw Error(path + ": an \"auth\" entry is not base64 of user:password");
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  }
  if (c.username.empty()) c.username = string_field(entry, "username");
  if (c.password.empty()) c.password = string_field(entry, "password");
  c.identity_token = string_field(entry, "identitytoken");
  c.registry_token = string_field(entry, "registrytoken");
  return c;
}

// The helper found nothing, in the words docker-credential-helpers use.
bool is_not_found_output(const std::string& out) {
  return out.find("credentials not found") != std::string::npos ||
         out.find("could not be found") != std::string::npos;
}

}  // namespace

std::string credential_server_key(const std::string& registry_host) {
  return is_docker_hub(registry_host) ? "https://index.docker.io/v1/" : registry_host;
}

std::optional<Credential> run_credential_helper(const std::string& helper, const std::string& server_key) {
  std::string program = "docker-credential-" + helper;
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) throw sys_error("pipe");
  UniqueFd in_r(in_pipe[0]), in_w(in_pipe[1]);
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw sys_error("pipe");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 2);  // helpers report errors on stdout or stderr
  char arg0[] = "docker-credential";
  char arg1[] = "get";
  char* argv[] = {arg0, arg1, nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, program.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    throw Error("credential helper " + program + " (configured for " + server_key +
                ") cannot be run: " + sys_error("spawn", rc).message().substr(7));
  }
  in_r.reset();
  out_w.reset();
  // The key is a few bytes: it fits in the pipe buffer, so writing it all
  // before reading cannot deadlock. A helper that exits without reading must
  // not kill us with SIGPIPE.
  std::string input = server_key + "\n";
  struct sigaction ign {}, old {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  ssize_t ignored = ::write(in_w.get(), input.data(), input.size());
  (void)ignored;
  sigaction(SIGPIPE, &old, nullptr);
  in_w.reset();
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < (1u << 20)) out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (is_not_found_output(out)) return std::nullopt;
    // A failing helper prints an error, not a secret; quote its first line.
    std::string first = out.substr(0, out.find('\n')).substr(0, 200);
    throw Error("credential helper " + program + " failed for " + server_key +
                (first.empty() ? "" : ": " + first));
  }
  json j = json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error("credential helper " + program + " returned no JSON object for " + server_key);
  }
  Credential c;
  std::string user = string_field(j, "Username");
  std::string secret = string_field(j, "Secret");
  if (user == "<token>") {
    c.identity_token = secret;  // docker's convention for identity tokens
  } else {
    c.username = user;
    c.password = secret;
  }
  if (c.empty()) return std::nullopt;
  return c;
}

std::optional<FoundCredential> credentials_from_file(const std::string& path, const std::string& registry_host) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(path + ": not a JSON object");
  std::string key = credential_server_key(registry_host);
  bool hub = is_docker_hub(registry_host);
  auto matches = [&](const std::string& k) {
    if (k == key) return true;
    std::string h = key_to_host(k);
    return hub ? is_docker_hub(h) : h == registry_host;
  };

  if (j.contains("credHelpers") && j["credHelpers"].is_object()) {
    for (auto& [k, v] : j["credHelpers"].items()) {
      if (matches(k) && v.is_string()) {
        auto c = run_credential_helper(v.get<std::string>(), key);
        if (!c) return std::nullopt;
        return FoundCredential{*c, "docker-credential-" + v.get<std::string>()};
      }
    }
  }
  if (j.contains("auths") && j["auths"].is_object()) {
    // An exact key beats a normalised one ("https://host/v1/").
    const json* entry = nullptr;
    if (j["auths"].contains(key)) entry = &j["auths"][key];
    if (!entry) {
      for (auto& [k, v] : j["auths"].items()) {
        if (matches(k)) {
          entry = &v;
          break;
        }
      }
    }
    if (entry && entry->is_object()) {
      Credential c = from_auth_entry(*entry, path);
      if (!c.empty()) return FoundCredential{c, path};
    }
  }
  std::string store = string_field(j, "credsStore");
  if (!store.empty()) {
    auto c = run_credential_helper(store, key);
    if (c) return FoundCredential{*c, "docker-credential-" + store};
  }
  return std::nullopt;
}

std::optional<FoundCredential> find_credentials(const std::string& registry_host) {
  std::vector<std::string> files;
  if (std::string f = env("REGISTRY_AUTH_FILE"); !f.empty()) files.push_back(f);
  if (std::string x = env("XDG_RUNTIME_DIR"); !x.empty()) files.push_back(x + "/containers/auth.json");
  if (std::string d = env("DOCKER_CONFIG"); !d.empty()) {
    files.push_back(d + "/config.json");
  } else if (std::string home = env("HOME"); !home.empty()) {
    files.push_back(home + "/.docker/config.json");
  }
  for (const auto& f : files) {
    if (auto c = credentials_from_file(f, registry_host)) return c;
  }
  return std::nullopt;
}

}  // namespace slipway::registry
