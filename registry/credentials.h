#pragma once
// Registry credentials the way docker, podman and skopeo find them:
// $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json, then
// $DOCKER_CONFIG/config.json (default ~/.docker/config.json). In a file:
// credHelpers[host], then auths[host] (auth = base64 "user:pass", or
// username/password, identitytoken, registrytoken), then credsStore.
// Helpers speak the docker-credential-helpers protocol.
#include <optional>
#include <string>

namespace slipway::registry {

struct Credential {
  std::string username;
  std::string password;
  std::string identity_token;  // OAuth2 refresh token for the token server
  std::string registry_token;  // a bearer token sent to the registry as-is
  bool empty() const {
    return username.empty() && password.empty() && identity_token.empty() && registry_token.empty();
  }
};

struct FoundCredential {
  Credential credential;
  std::string source;  // "/root/.docker/config.json" or "docker-credential-pass"; never secret
};

// The key docker uses for a registry host in config files and helper calls:
// "https://index.docker.io/v1/" for Docker Hub, the host itself otherwise.
std::string credential_server_key(const std::string& registry_host);

// Searches the standard places; nullopt when there is nothing for the host
// (anonymous access). Throws Error when a file is malformed or a helper fails.
std::optional<FoundCredential> find_credentials(const std::string& registry_host);

// One docker-style config/auth file; nullopt when it has no entry for host.
std::optional<FoundCredential> credentials_from_file(const std::string& path, const std::string& registry_host);

// Runs `docker-credential-<helper> get` with the server key on stdin.
// nullopt when the helper knows no credentials for it.
std::optional<Credential> run_credential_helper(const std::string& helper, const std::string& server_key);

}  // namespace slipway::registry
