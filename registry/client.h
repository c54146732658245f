#pragma once
// The OCI distribution protocol against one registry host: manifests
// (GET/HEAD/PUT, digest-verified, index platform selection) and blobs
// (existence, streaming digest-verified download with Range resume,
// cross-repository mount, chunked or monolithic streaming upload).
// Repositories are paths like "library/alpine"; references are tags or
// "sha256:..." digests.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/platform.h"
#include "registry/auth.h"
#include "registry/http.h"
#include "registry/manifest.h"
#include "registry/options.h"

namespace slipway::registry {

struct FetchedManifest {
  std::string media_type;
  std::string body;  // exact bytes: their sha256 is `digest`
  Digest digest;
};

// A blob to upload, readable at any offset so retries and restarted upload
// sessions can re-read it. The caller (the builder) backs it by a file.
struct BlobSource {
  Digest digest;
  uint64_t size = 0;
  BodyReader read;

  static BlobSource from_string(std::string data);
  // Reads with pread(2); the file stays open while the source lives.
  static BlobSource from_file(const std::string& path, Digest digest, uint64_t size);
};

enum class BlobPush { kExisted, kMounted, kUploaded };

class RegistryClient {
 public:
  // `registry_host` as in references: "docker.io", "127.0.0.1:5000".
  // Without a credential source, find_credentials(registry_host) is used.
  explicit RegistryClient(std::string registry_host, RegistryOptions options = {},
                          Authenticator::CredentialSource credentials = nullptr);
  ~RegistryClient();

  const std::string& host() const { return host_; }

  // GET with every supported Accept type. Verifies the digest (against a
  // digest reference, or the registry's Docker-Content-Digest for a tag) and
  // rejects schema 1.
  FetchedManifest get_manifest(const std::string& repository, const std::string& reference);
  // HEAD: the descriptor (media type, digest, size), or nullopt when absent.
  std::optional<Descriptor> head_manifest(const std::string& repository, const std::string& reference);
  // The image manifest for `platform`: the manifest itself, or the matching
  // entry of an index (error listing available platforms when none fits).
  FetchedManifest get_image_manifest(const std::string& repository, const std::string& reference,
                                     const Platform& platform);
  // PUTs to a tag (or to its own digest when `reference` is empty) and
  // returns the digest once a HEAD confirms the registry has it.
  Digest put_manifest(const std::string& repository, const std::string& reference,
                      const std::string& media_type, const std::string& body);

  // HEAD: the blob's size, or nullopt when the repository lacks it.
  std::optional<uint64_t> blob_size(const std::string& repository, const Digest& digest);
  // Streams the blob into `sink`, verifying size (when >= 0) and digest as
  // it goes and resuming dropped connections with Range. On a mismatch it
  // throws after the sink has seen the bad bytes: the caller discards them.
  void get_blob(const std::string& repository, const Digest& digest, const BodySink& sink,
                int64_t expected_size = -1);
  // Small blobs (configs) in memory; throws when larger than `max_size`.
  std::string get_blob_bytes(const std::string& repository, const Digest& digest,
                             size_t max_size = 16u << 20);
  // Uploads unless the repository already has it; tries a cross-repository
  // mount from each of `mount_from` (same registry) first. `known_absent`:
  // the caller has just asked (HEAD) and the blob was not there, so the
  // push does not ask again.
  BlobPush push_blob(const std::string& repository, const BlobSource& blob,
                     const std::vector<std::string>& mount_from = {}, bool known_absent = false);

  // Mounts a blob from another repository of this registry without
  // uploading; false when the registry cannot (it lacks the blob there).
  bool mount_blob(const std::string& repository, const Digest& digest, const std::string& from);

  int token_fetches() const { return auth_.token_fetches(); }

 private:
  std::string repo_url(const std::string& repository) const;
  // Sends with authorisation for `scopes`, re-sending once after a 401 the
  // authenticator could answer.
  // Transport failures are rethrown with `context` ("pulling blob X from
  // host/repo") in front.
  HttpResponse send(HttpRequest request, const std::vector<std::string>& scopes, const std::string& context);
  std::string where(const std::string& action, const std::string& repository) const {
    return action + " " + host_ + "/" + repository;
  }
  [[noreturn]] void fail(const HttpResponse& response, const std::string& action,
                         const std::string& repository);
  // HEAD of a blob under a token for `actions` ("pull", or "pull,push" while
  // pushing, so one token serves the whole push).
  std::optional<uint64_t> head_blob(const std::string& repository, const Digest& digest, const std::string& actions);
  FetchedManifest get_manifest_from(const std::string& repository, const std::string& reference);
  void get_blob_from(const std::string& repository, const Digest& digest, const BodySink& sink,
                     int64_t expected_size);
  // Clients for the configured mirrors of this host, made on first use.
  std::vector<RegistryClient*> mirrors();

  // Upload steps (upload.cc).
  std::optional<std::string> try_mount(const std::string& repository, const Digest& digest,
                                       const std::string& from, bool* mounted);
  std::string start_upload(const std::string& repository, const Digest& digest);
  // `failures` counts the failed requests of this blob's push so far; each
  // step adds to it and gives up once it passes options().retries.
  void upload_chunked(const std::string& repository, const BlobSource& blob, std::string location, int* failures);
  void upload_monolithic(const std::string& repository, const BlobSource& blob, const std::string& location);
  void finish_upload(const std::string& repository, const BlobSource& blob, HttpRequest request);
  std::string resolve(const std::string& location) const;
  // DELETE of an upload session we abandon; failures are only logged.
  void cancel_upload(const std::string& repository, const std::string& location);

  std::string host_;      // as the user wrote it
  std::string endpoint_;  // where requests go ("registry-1.docker.io" for docker.io)
  HttpClient http_;
  Authenticator auth_;
  std::mutex mirrors_mu_;
  std::vector<std::unique_ptr<RegistryClient>> mirrors_;
  bool mirrors_made_ = false;
};

// Renders a registry error body ({"errors":[{"code","message","detail"}]})
// as "CODE: message (detail)"; "" when the body has none.
std::string describe_registry_errors(const std::string& body);

}  // namespace slipway::registry
