#include "registry/client.h"

#include <fcntl.h>
#include <unistd.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fd.h"
#include "registry/log.h"

namespace slipway::registry {
namespace {

using nlohmann::json;

std::string pull_scope(const std::string& repo) { return repository_scope(repo, "pull"); }

bool is_digest_ref(const std::string& ref) { return ref.find(':') != std::string::npos; }

std::string reason_phrase(long status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

}  // namespace

std::string describe_registry_errors(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array()) return "";
  std::string out;
  for (const auto& e : j["errors"]) {
    if (!e.is_object()) continue;
    std::string part = e.value("code", std::string("UNKNOWN"));
    if (e.contains("message") && e["message"].is_string()) part += ": " + e["message"].get<std::string>();
    if (e.contains("detail") && !e["detail"].is_null()) {
      std::string d = e["detail"].is_string() ? e["detail"].get<std::string>() : e["detail"].dump();
      if (d.size() > 300) d = d.substr(0, 300) + "...";
      if (!d.empty()) part += " (" + d + ")";
    }
    if (!out.empty()) out += "; ";
    out += part;
  }
  return out;
}

BlobSource BlobSource::from_string(std::string data) {
  auto shared = std::make_shared<const std::string>(std::move(data));
  BlobSource b;
  b.digest = sha256_of(*shared);
  b.size = shared->size();
  b.read = [shared](uint64_t offset, char* buf, size_t len) -> size_t {
    if (offset >= shared->size()) return 0;
    size_t n = std::min<uint64_t>(len, shared->size() - offset);
    std::copy_n(shared->data() + offset, n, buf);
    return n;
  };
  return b;
}

BlobSource BlobSource::from_file(const std::string& path, Digest digest, uint64_t size) {
  auto fd = std::make_shared<UniqueFd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!*fd) throw sys_error("opening " + path);
  BlobSource b;
  b.digest = std::move(digest);
  b.size = size;
  b.read = [fd, path](uint64_t offset, char* buf, size_t len) -> size_t {
    for (;;) {
      ssize_t n = ::pread(fd->get(), buf, len, static_cast<off_t>(offset));
      if (n >= 0) {
        if (n == 0 && len > 0) throw Error(path + ": file is shorter than its recorded size");
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) throw sys_error("reading " + path);
    }
  };
  return b;
}

RegistryClient::RegistryClient(std::string registry_host, RegistryOptions options,
                               Authenticator::CredentialSource credentials)
    : host_(std::move(registry_host)),
      // Docker Hub's API lives on a different name than its references use.
      endpoint_(host_ == "docker.io" || host_ == "index.docker.io" ? "registry-1.docker.io" : host_),
      http_(std::move(options)),
      auth_(http_, host_, credentials ? std::move(credentials) : [h = host_] { return find_credentials(h); }) {}

RegistryClient::~RegistryClient() = default;

std::string RegistryClient::repo_url(const std::string& repository) const {
  return http_.base_url(endpoint_) + "/v2/" + repository;
}

std::string RegistryClient::resolve(const std::string& location) const {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return location;
  if (!location.empty() && location[0] == '/') return http_.base_url(endpoint_) + location;
  return http_.base_url(endpoint_) + "/" + location;
}

HttpResponse RegistryClient::send(HttpRequest request, const std::vector<std::string>& scopes,
                                  const std::string& context) {
  try {
    for (int attempt = 0;; ++attempt) {
      std::erase_if(request.headers, [](const auto& h) { return h.first == "Authorization"; });
      std::string authz = auth_.authorization(scopes);
      if (!authz.empty()) request.headers.push_back({"Authorization", authz});
      HttpResponse resp = http_.perform(request);
      if (resp.status == 401 && attempt == 0 && auth_.on_unauthorized(resp, scopes, authz)) continue;
      return resp;
    }
  } catch (const TransportFailure& e) {
    throw TransportFailure(context + ": " + e.message(), e.sink_bytes());
  } catch (const Error& e) {
    throw e.with_context(context);
  }
}

void RegistryClient::fail(const HttpResponse& r, const std::string& action, const std::string& repository) {
  std::string msg = action + " " + host_ + "/" + repository + ": HTTP " + std::to_string(r.status);
  if (std::string reason = reason_phrase(r.status); !reason.empty()) msg += " " + reason;
  if (std::string errors = describe_registry_errors(r.body); !errors.empty()) {
    msg += ": " + errors;
  } else if (r.status == 401) {
    // HEAD answers carry no body; the challenge may still say why.
    for (const auto& ch : parse_www_authenticate(r.header("www-authenticate"))) {
      if (auto e = ch.params.find("error"); e != ch.params.end()) msg += ": " + e->second;
    }
  }
  if (r.status == 401) {
    msg += "; authentication failed with " + auth_.credential_description() +
           ": check the credentials for " + host_ +
           " (docker login, $DOCKER_CONFIG/config.json or $REGISTRY_AUTH_FILE)";
  } else if (r.status == 403) {
    msg += "; access denied with " + auth_.credential_description() + ": the account may lack permission on " +
           repository;
  }
  throw Error(msg);
}

FetchedManifest RegistryClient::get_manifest(const std::string& repository, const std::string& reference) {
  for (RegistryClient* m : mirrors()) {
    try {
      return m->get_manifest_from(repository, reference);
    } catch (const Error& e) {
      log(LogLevel::kInfo, "mirror " + m->host() + " failed, trying the next source: " + e.message());
    }
  }
  return get_manifest_from(repository, reference);
}

std::vector<RegistryClient*> RegistryClient::mirrors() {
  std::lock_guard lock(mirrors_mu_);
  if (!mirrors_made_) {
    mirrors_made_ = true;
    const auto& all = http_.options().mirrors;
    if (auto it = all.find(host_); it != all.end()) {
      RegistryOptions o = http_.options();
      o.mirrors.clear();  // a mirror's own mirrors are not ours to follow
      for (const auto& host : it->second) mirrors_.push_back(std::make_unique<RegistryClient>(host, o));
    }
  }
  std::vector<RegistryClient*> out;
  for (auto& m : mirrors_) out.push_back(m.get());
  return out;
}

FetchedManifest RegistryClient::get_manifest_from(const std::string& repository, const std::string& reference) {
  const std::string action = "pulling manifest " + reference + " of";
  HttpRequest req;
  req.url = repo_url(repository) + "/manifests/" + reference;
  req.headers.push_back({"Accept", manifest_accept_header()});
  HttpResponse r = send(req, {pull_scope(repository)}, where(action, repository));
  if (!r.ok()) fail(r, action, repository);
  FetchedManifest m;
  m.body = std::move(r.body);
  m.digest = sha256_of(m.body);
  try {
    // A whole document is judged by its shape first (schema 1's signed
    // bodies never match the registry's digest); one that is not even JSON,
    // like a body cut short, by its digest, which says what went wrong.
    const bool whole = json::accept(m.body);
    if (whole) m.media_type = detect_manifest_media_type(m.body, r.header("content-type"));
    if (is_digest_ref(reference)) {
      Digest want = Digest::parse(reference);
      if (want.algorithm == "sha256" && want != m.digest) {
        throw Error("content has digest " + m.digest.str() + ", not the requested " + want.str());
      }
      if (want.algorithm != "sha256") throw Error("cannot verify a " + want.algorithm + " digest");
    } else if (std::string dcd = r.header("docker-content-digest"); dcd.rfind("sha256:", 0) == 0) {
      if (Digest::parse(dcd) != m.digest) {
        throw Error("content has digest " + m.digest.str() + " but the registry announced " + dcd);
      }
    }
    if (!whole) m.media_type = detect_manifest_media_type(m.body, r.header("content-type"));
  } catch (const Error& e) {
    throw e.with_context(action + " " + host_ + "/" + repository);
  }
  return m;
}

std::optional<Descriptor> RegistryClient::head_manifest(const std::string& repository, const std::string& reference) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = repo_url(repository) + "/manifests/" + reference;
  req.headers.push_back({"Accept", manifest_accept_header()});
  const std::string action = "checking manifest " + reference + " of";
  HttpResponse r = send(req, {pull_scope(repository)}, where(action, repository));
  if (r.status == 404) return std::nullopt;
  if (!r.ok()) fail(r, action, repository);
  Descriptor d;
  d.media_type = r.header("content-type");
  std::string dcd = r.header("docker-content-digest");
  if (!dcd.empty()) d.digest = Digest::parse(dcd);
  else if (is_digest_ref(reference)) d.digest = Digest::parse(reference);
  std::string len = r.header("content-length");
  d.size = len.empty() ? -1 : std::stoll(len);
  return d;
}

FetchedManifest RegistryClient::get_image_manifest(const std::string& repository, const std::string& reference,
                                                   const Platform& platform) {
  FetchedManifest top = get_manifest(repository, reference);
  if (!is_index_media_type(top.media_type)) return top;
  Index index = parse_index(top.body);
  const Descriptor* chosen = nullptr;
  try {
    chosen = &select_platform(index, platform);
  } catch (const Error& e) {
    throw e.with_context(host_ + "/" + repository + ":" + reference);
  }
  FetchedManifest m = get_manifest(repository, chosen->digest.str());
  if (is_index_media_type(m.media_type)) {
    throw Error(host_ + "/" + repository + "@" + chosen->digest.str() + ": nested index is not supported");
  }
  return m;
}

Digest RegistryClient::put_manifest(const std::string& repository, const std::string& reference,
                                    const std::string& media_type, const std::string& body) {
  Digest digest = sha256_of(body);
  std::string ref = reference.empty() ? digest.str() : reference;
  const std::string action = "pushing manifest " + ref + " to";
  std::vector<std::string> scopes = {repository_scope(repository, "pull,push")};
  HttpRequest req;
  req.method = "PUT";
  req.url = repo_url(repository) + "/manifests/" + ref;
  req.headers.push_back({"Content-Type", media_type});
  req.body = body;
  HttpResponse r = send(req, scopes, where(action, repository));
  if (r.status != 201 && !r.ok()) fail(r, action, repository);
  if (std::string dcd = r.header("docker-content-digest"); !dcd.empty() && Digest::parse(dcd) != digest) {
    throw Error(action + " " + host_ + "/" + repository + ": registry stored it as " + dcd + ", expected " +
                digest.str());
  }
  // Only a manifest the registry serves back counts as pushed.
  HttpRequest head;
  head.method = "HEAD";
  head.url = repo_url(repository) + "/manifests/" + ref;
  head.headers.push_back({"Accept", media_type});
  HttpResponse h = send(head, scopes, where(action, repository));
  if (!h.ok()) fail(h, "verifying pushed manifest " + ref + " in", repository);
  std::string dcd = h.header("docker-content-digest");
  if (!dcd.empty() && Digest::parse(dcd) != digest) {
    throw Error(action + " " + host_ + "/" + repository + ": after the push " + ref + " resolves to " + dcd +
                ", not " + digest.str());
  }
  log(LogLevel::kInfo, "pushed manifest " + host_ + "/" + repository + ":" + ref + " " + digest.str());
  return digest;
}

std::optional<uint64_t> RegistryClient::blob_size(const std::string& repository, const Digest& digest) {
  return head_blob(repository, digest, "pull");
}

std::optional<uint64_t> RegistryClient::head_blob(const std::string& repository, const Digest& digest,
                                                  const std::string& actions) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = repo_url(repository) + "/blobs/" + digest.str();
  const std::string action = "checking blob " + digest.str() + " in";
  HttpResponse r = send(req, {repository_scope(repository, actions)}, where(action, repository));
  if (r.status == 404) return std::nullopt;
  if (!r.ok()) fail(r, action, repository);
  std::string len = r.header("content-length");
  return len.empty() ? 0 : std::stoull(len);
}

void RegistryClient::get_blob(const std::string& repository, const Digest& digest, const BodySink& sink,
                              int64_t expected_size) {
  for (RegistryClient* m : mirrors()) {
    // Only a mirror that has the blob is used: once bytes reach the sink
    // there is no falling back.
    std::optional<uint64_t> size;
    try {
      size = m->blob_size(repository, digest);
    } catch (const Error& e) {
      log(LogLevel::kInfo, "mirror " + m->host() + " failed, trying the next source: " + e.message());
    }
    if (size) return m->get_blob_from(repository, digest, sink, expected_size);
  }
  get_blob_from(repository, digest, sink, expected_size);
}

void RegistryClient::get_blob_from(const std::string& repository, const Digest& digest, const BodySink& sink,
                                   int64_t expected_size) {
  const std::string action = "pulling blob " + digest.str() + " from";
  if (digest.algorithm != "sha256") throw Error(action + " " + host_ + "/" + repository + ": unsupported digest");
  Sha256 hash;
  uint64_t got = 0;
  // Failed GETs of this blob so far, whatever went wrong: --image-download-retry
  // bounds them all, so retries at one level never multiply those at another.
  int failures = 0;
  for (;;) {
    uint64_t skip = 0;  // bytes to drop when a server ignores Range
    HttpRequest req;
    req.url = repo_url(repository) + "/blobs/" + digest.str();
    req.retry = false;  // retried here, resuming where the last attempt stopped
    if (got > 0) req.headers.push_back({"Range", "bytes=" + std::to_string(got) + "-"});
    req.on_sink_start = [&](long status) { skip = (got > 0 && status != 206) ? got : 0; };
    req.sink = [&](const char* data, size_t len) {
      if (skip > 0) {
        size_t drop = std::min<uint64_t>(skip, len);
        skip -= drop;
        data += drop;
        len -= drop;
        if (len == 0) return;
      }
      if (expected_size >= 0 && got + len > static_cast<uint64_t>(expected_size)) {
        throw Error("more than the expected " + std::to_string(expected_size) + " bytes");
      }
      hash.update(data, len);
      got += len;
      sink(data, len);
    };
    std::string why;
    HttpResponse r;
    try {
      r = send(req, {pull_scope(repository)}, where(action, repository));
    } catch (const TransportFailure& e) {
      why = e.message();
    }
    if (why.empty()) {
      if (r.ok() && (expected_size < 0 || got >= static_cast<uint64_t>(expected_size))) break;
      if (!r.ok() && !(r.status >= 500 || r.status == 429 || r.status == 408)) fail(r, action, repository);
      if (r.ok()) {
        // A "complete" answer shorter than the descriptor says: cut off by
        // something between us and the registry. Resume like a drop.
        why = where(action, repository) + ": the answer ended after " + std::to_string(got) + " of " +
              std::to_string(expected_size) + " bytes";
      }
    }
    if (++failures > http_.options().retries) {
      if (!why.empty()) throw Error(why + " (gave up after " + std::to_string(failures) + " attempts)");
      fail(r, action, repository);
    }
    log(LogLevel::kInfo, (why.empty() ? where(action, repository) + ": HTTP " + std::to_string(r.status) : why) +
                             "; retrying from byte " + std::to_string(got));
    std::this_thread::sleep_for(http_.backoff(failures - 1, why.empty() ? &r : nullptr));
  }
  if (expected_size >= 0 && got != static_cast<uint64_t>(expected_size)) {
    throw Error(action + " " + host_ + "/" + repository + ": got " + std::to_string(got) + " bytes, expected " +
                std::to_string(expected_size));
  }
  Digest actual = hash.finish();
  if (actual != digest) {
    throw Error(action + " " + host_ + "/" + repository + ": content has digest " + actual.str() +
                " (corrupted or tampered with)");
  }
}

std::string RegistryClient::get_blob_bytes(const std::string& repository, const Digest& digest, size_t max_size) {
  std::string out;
  get_blob(repository, digest, [&](const char* data, size_t len) {
    if (out.size() + len > max_size) {
      throw Error("blob " + digest.str() + " in " + host_ + "/" + repository + " is larger than " +
                  std::to_string(max_size) + " bytes");
    }
    out.append(data, len);
  });
  return out;
}

}  // namespace slipway::registry
