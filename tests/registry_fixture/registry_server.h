#pragma once
// Starts Debian's docker-registry (distribution 2.x) on 127.0.0.1 at a free
// port with a temporary storage dir, waits until it answers and kills it at
// the end. Variants: plain HTTP, TLS with a CA made by the openssl CLI,
// htpasswd Basic auth (bcrypt via `htpasswd -B`), and token auth pointing at
// a TokenServer.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

extern char** environ;

namespace slipway::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "slipway-reg.XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command; returns its stdout (stderr goes to the test log).
// Throws when it exits non-zero.
inline std::string run(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + command);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  if (status != 0) throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command + "\n" + out);
  return out;
}

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A CA and a server certificate for 127.0.0.1 signed by it.
struct TestCerts {
  std::string ca_cert, server_cert, server_key, client_cert, client_key;
  explicit TestCerts(const TempDir& dir) {
    const std::string d = dir.path();
    ca_cert = d + "/ca.crt";
    server_cert = d + "/server.crt";
    server_key = d + "/server.key";
    client_cert = d + "/client.crt";
    client_key = d + "/client.key";
    write_file(d + "/san.ext", "subjectAltName=IP:127.0.0.1\n");
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    run("cd " + d + " && openssl req -x509" + ec + "-keyout ca.key -out ca.crt -days 2 -subj /CN=slipway-test-ca 2>&1"
        " && openssl req" + ec + "-keyout server.key -out server.csr -subj /CN=127.0.0.1 2>&1"
        " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
        " -extfile san.ext -out server.crt 2>&1"
        " && openssl req" + ec + "-keyout client.key -out client.csr -subj /CN=slipway-client 2>&1"
        " && openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt 2>&1");
  }
};

struct RegistryConfig {
  bool tls = false;
  const TestCerts* certs = nullptr;
  bool require_client_cert = false;
  std::string htpasswd_user, htpasswd_password;  // Basic auth when set
  // Token auth when realm is set.
  std::string token_realm, token_service, token_issuer, token_cert_bundle;

  static RegistryConfig basic(std::string user, std::string password) {
    RegistryConfig c;
    c.htpasswd_user = std::move(user);
    c.htpasswd_password = std::move(password);
    return c;
  }
};

class RegistryServer {
 public:
  explicit RegistryServer(RegistryConfig config) : config_(std::move(config)) {
    port_ = free_port();
    std::string storage = dir_ / "storage";
    std::filesystem::create_directories(storage);
    std::string yaml =
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        "storage:\n  filesystem:\n    rootdirectory: " + storage + "\n  delete:\n    enabled: true\n"
        "http:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
    if (config_.tls) {
      yaml += "  tls:\n    certificate: " + config_.certs->server_cert + "\n    key: " + config_.certs->server_key + "\n";
      if (config_.require_client_cert) yaml += "    clientcas:\n      - " + config_.certs->ca_cert + "\n";
    }
    if (!config_.htpasswd_user.empty()) {
      run("htpasswd -Bbc " + (dir_ / "htpasswd") + " '" + config_.htpasswd_user + "' '" + config_.htpasswd_password +
          "' 2>&1");
      yaml += "auth:\n  htpasswd:\n    realm: slipway-test\n    path: " + (dir_ / "htpasswd") + "\n";
    } else if (!config_.token_realm.empty()) {
      yaml += "auth:\n  token:\n    realm: " + config_.token_realm + "\n    service: " + config_.token_service +
              "\n    issuer: " + config_.token_issuer + "\n    rootcertbundle: " + config_.token_cert_bundle + "\n";
    }
    write_file(dir_ / "config.yml", yaml);
    start();
  }
  ~RegistryServer() { stop(); }
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_file(dir_ / "registry.log"); }
  const std::string& storage_dir() const { return dir_.path(); }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

 private:
  void start() {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    std::string logfile = dir_ / "registry.log";
    posix_spawn_file_actions_addopen(&fa, 1, logfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::string config = dir_ / "config.yml";
    char arg0[] = "docker-registry";
    char arg1[] = "serve";
    char* argv[] = {arg0, arg1, config.data(), nullptr};
    int rc = posix_spawn(&pid_, "/usr/bin/docker-registry", &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start /usr/bin/docker-registry");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(port_));
      bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (up) return;
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("docker-registry exited at start:\n" + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("docker-registry did not answer on " + host() + ":\n" + log());
  }

  RegistryConfig config_;
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace slipway::testing
