// Blob upload: HEAD to skip, cross-repository mount, then a streaming
// upload session (chunked PATCHes or one PUT), restarted when the registry
// loses the session.
#include <chrono>
#include <optional>
#include <thread>

#include "common/error.h"
#include "registry/client.h"
#include "registry/log.h"

namespace slipway::registry {
namespace {

// A session the registry no longer knows, or a connection that died mid-
// upload: start over (or resume) rather than fail the push.
struct SessionLost {
  std::string why;
  // The registry's Retry-After, when its answer carried one.
  std::optional<std::chrono::milliseconds> wait = std::nullopt;
  // Already counted against --push-retry (the failed PATCH that led here).
  bool counted = false;
};

// The chunked protocol is optional for registries; these answers mean
// "not supported here", and a single PUT will do.
struct ChunkedUnsupported {
  std::string why;
};

std::string with_query(const std::string& location, const std::string& param) {
  return location + (location.find('?') == std::string::npos ? "?" : "&") + param;
}

// Answers worth another try of the same request after a pause.
bool is_transient(long status) { return status == 429 || status == 408 || status >= 500; }

// "0-1023" (or "bytes=0-1023") -> 1024: the next offset the registry expects.
std::optional<uint64_t> next_offset_from_range(std::string range) {
  if (auto eq = range.find('='); eq != std::string::npos) range = range.substr(eq + 1);
  auto dash = range.find('-');
  if (dash == std::string::npos) return std::nullopt;
  try {
    return std::stoull(range.substr(dash + 1)) + 1;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A single PUT refused for its size (413, usually a proxy's body limit):
// chunks of options().upload_chunk_size will do.
struct BodyTooLarge {
  std::string why;
};

}  // namespace

std::optional<std::string> RegistryClient::try_mount(const std::string& repository, const Digest& digest,
                                                     const std::string& from, bool* mounted) {
  HttpRequest req;
  req.method = "POST";
  req.url = repo_url(repository) + "/blobs/uploads/?mount=" + url_escape(digest.str()) + "&from=" + url_escape(from);
  const std::string action = "mounting blob " + digest.str() + " from " + from + " into";
  HttpResponse r = send(req, {repository_scope(repository, "pull,push"), repository_scope(from, "pull")},
                        where(action, repository));
  *mounted = r.status == 201;
  if (r.status == 201) return std::nullopt;
  // 202: no mount, but the registry opened an upload session we can use.
  if (r.status == 202 && !r.header("location").empty()) return resolve(r.header("location"));
  if (!r.ok()) fail(r, action, repository);
  return std::nullopt;
}

std::string RegistryClient::start_upload(const std::string& repository, const Digest& digest) {
  HttpRequest req;
  req.method = "POST";
  req.url = repo_url(repository) + "/blobs/uploads/";
  const std::string action = "starting upload of blob " + digest.str() + " to";
  HttpResponse r = send(req, {repository_scope(repository, "pull,push")}, where(action, repository));
  if (r.status != 202 || r.header("location").empty()) {
    if (r.ok()) {
      throw Error(where(action, repository) + ": registry opened no upload session (HTTP " +
                  std::to_string(r.status) + ")");
    }
    fail(r, action, repository);
  }
  return resolve(r.header("location"));
}

bool RegistryClient::mount_blob(const std::string& repository, const Digest& digest, const std::string& from) {
  bool mounted = false;
  std::optional<std::string> session = try_mount(repository, digest, from, &mounted);
  // The registry opened an upload instead; cancel it rather than leave it
  // to expire.
  if (session) cancel_upload(repository, *session);
  return mounted;
}

BlobPush RegistryClient::push_blob(const std::string& repository, const BlobSource& blob,
                                   const std::vector<std::string>& mount_from, bool known_absent) {
  if (!known_absent && head_blob(repository, blob.digest, "pull,push")) {
    log(LogLevel::kDebug, "blob " + blob.digest.str() + " already in " + host_ + "/" + repository);
    return BlobPush::kExisted;
  }
  std::optional<std::string> session;
  for (const auto& from : mount_from) {
    if (from == repository) continue;
    bool mounted = false;
    session = try_mount(repository, blob.digest, from, &mounted);
    if (mounted) {
      log(LogLevel::kInfo, "mounted blob " + blob.digest.str() + " from " + from + " into " + repository);
      return BlobPush::kMounted;
    }
    if (session) break;
  }
  bool chunked = http_.options().chunked_upload;
  // Chunked -> monolithic -> chunked would never end: one switch per push.
  bool switched = false;
  const int max_failures = http_.options().retries;
  int failures = 0;
  for (;;) {
    std::string location = session ? *session : start_upload(repository, blob.digest);
    session.reset();
    // The session this attempt leaves behind when it restarts: cancelled so
    // the registry frees its partial data now rather than at expiry.
    auto abandon = [&] { cancel_upload(repository, location); };
    try {
      if (chunked) upload_chunked(repository, blob, location, &failures);
      else upload_monolithic(repository, blob, location);
      log(LogLevel::kInfo, "uploaded blob " + blob.digest.str() + " (" + std::to_string(blob.size) + " bytes) to " +
                               host_ + "/" + repository);
      return BlobPush::kUploaded;
    } catch (const ChunkedUnsupported& e) {
      if (switched) throw Error(where("pushing blob " + blob.digest.str() + " to", repository) + ": " + e.why);
      log(LogLevel::kInfo, host_ + ": chunked upload refused (" + e.why + "); uploading in one request");
      chunked = false;
      switched = true;
      abandon();
    } catch (const BodyTooLarge& e) {
      if (switched) throw Error(where("pushing blob " + blob.digest.str() + " to", repository) + ": " + e.why);
      log(LogLevel::kInfo, host_ + ": " + e.why + "; uploading in chunks of " +
                               std::to_string(http_.options().upload_chunk_size) + " bytes");
      chunked = true;
      switched = true;
      abandon();
    } catch (const SessionLost& e) {
      // A closing PUT whose answer was lost may still have stored the blob:
      // uploading it again would only cost time.
      std::optional<uint64_t> have;
      try {
        have = head_blob(repository, blob.digest, "pull,push");
      } catch (const Error&) {
        // Cannot tell: upload it again.
      }
      if (have && *have == blob.size) {
        log(LogLevel::kInfo, "pushing blob " + blob.digest.str() + ": " + e.why + ", but the registry has it");
        return BlobPush::kUploaded;
      }
      if (!e.counted) ++failures;
      if (failures > max_failures) {
        throw Error(where("pushing blob " + blob.digest.str() + " to", repository) + ": " + e.why + " (gave up after " +
                    std::to_string(failures) + " failed attempts)");
      }
      abandon();
      log(LogLevel::kInfo, "pushing blob " + blob.digest.str() + ": " + e.why + "; restarting the upload");
      if (!e.counted) std::this_thread::sleep_for(e.wait ? *e.wait : http_.backoff(failures - 1, nullptr));
    }
  }
}

void RegistryClient::cancel_upload(const std::string& repository, const std::string& location) {
  HttpRequest del;
  del.method = "DELETE";
  del.url = location;
  del.retry = false;
  try {
    send(del, {repository_scope(repository, "pull,push")}, where("cancelling upload to", repository));
  } catch (const Error& e) {
    // Best effort: the registry expires the session on its own anyway.
    log(LogLevel::kDebug, e.message());
  }
}

void RegistryClient::upload_chunked(const std::string& repository, const BlobSource& blob, std::string location,
                                    int* failures) {
  const uint64_t chunk = std::max<uint64_t>(http_.options().upload_chunk_size, 1);
  const std::vector<std::string> scopes = {repository_scope(repository, "pull,push")};
  const std::string action = "uploading blob " + blob.digest.str() + " to";
  uint64_t offset = 0;
  while (offset < blob.size) {
    uint64_t n = std::min(chunk, blob.size - offset);
    HttpRequest req;
    req.method = "PATCH";
    req.url = location;
    req.retry = false;  // a failed PATCH is resolved by asking the session where it stands
    req.headers.push_back({"Content-Type", "application/octet-stream"});
    req.headers.push_back({"Content-Range", std::to_string(offset) + "-" + std::to_string(offset + n - 1)});
    const uint64_t base = offset;
    req.body_size = n;
    req.body_reader = [&blob, base](uint64_t off, char* buf, size_t len) { return blob.read(base + off, buf, len); };
    HttpResponse r;
    std::string why;
    try {
      r = send(req, scopes, where(action, repository));
    } catch (const TransportFailure& e) {
      why = e.message();
    }
    if (why.empty() && r.status == 202) {
      if (!r.header("location").empty()) location = resolve(r.header("location"));
      auto next = next_offset_from_range(r.header("range"));
      offset = next ? *next : offset + n;
      continue;
    }
    if (why.empty() && !is_transient(r.status) && r.status != 416 && r.status != 404) {
      if (r.status == 401 || r.status == 403) fail(r, action, repository);
      throw ChunkedUnsupported{"HTTP " + std::to_string(r.status)};
    }
    if (why.empty()) why = "HTTP " + std::to_string(r.status);
    // Every failed PATCH counts, progress or not: a registry that fails each
    // one must end the push, not keep it going chunk by chunk forever.
    if (++*failures > http_.options().retries) {
      throw Error(where("pushing blob " + blob.digest.str() + " to", repository) + ": " + why + " (gave up after " +
                  std::to_string(*failures) + " failed attempts)");
    }
    log(LogLevel::kInfo, where(action, repository) + ": " + why + "; asking the registry where the upload stands");
    std::this_thread::sleep_for(http_.backoff(*failures - 1, why.rfind("HTTP ", 0) == 0 ? &r : nullptr));
    // Where does the session stand? A GET on it reports the received range.
    HttpRequest status_req;
    status_req.url = location;
    HttpResponse s;
    try {
      s = send(status_req, scopes, where("checking upload of blob " + blob.digest.str() + " to", repository));
    } catch (const TransportFailure& e) {
      throw SessionLost{e.message(), std::nullopt, true};
    }
    if (s.status == 204 || s.status == 202) {
      std::string range = s.header("range");
      // distribution reports an empty session as "0-0", which would also
      // mean one byte: start over at 0 (a wrong guess costs one 416).
      offset = range.empty() || range == "0-0" || range == "bytes=0-0" ? 0 : next_offset_from_range(range).value_or(0);
      if (offset > blob.size) throw SessionLost{"registry reports more data than the blob has", std::nullopt, true};
      if (!s.header("location").empty()) location = resolve(s.header("location"));
      log(LogLevel::kDebug, "resuming upload of " + blob.digest.str() + " at " + std::to_string(offset));
      continue;
    }
    throw SessionLost{why + ", then the upload session was lost (HTTP " + std::to_string(s.status) + ")",
                      std::nullopt, true};
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = with_query(location, "digest=" + url_escape(blob.digest.str()));
  put.body = std::string();
  finish_upload(repository, blob, put);
}

void RegistryClient::upload_monolithic(const std::string& repository, const BlobSource& blob,
                                       const std::string& location) {
  HttpRequest put;
  put.method = "PUT";
  put.url = with_query(location, "digest=" + url_escape(blob.digest.str()));
  put.headers.push_back({"Content-Type", "application/octet-stream"});
  put.body_size = blob.size;
  put.body_reader = blob.read;
  if (blob.size == 0) put.body = std::string();
  finish_upload(repository, blob, put);
}

void RegistryClient::finish_upload(const std::string& repository, const BlobSource& blob, HttpRequest request) {
  // Failures are handled by push_blob, which first checks whether the blob
  // landed anyway, then starts a new session: retrying here as well would
  // multiply the attempts --push-retry allows.
  request.retry = false;
  HttpResponse r;
  try {
    r = send(request, {repository_scope(repository, "pull,push")},
             where("uploading blob " + blob.digest.str() + " to", repository));
  } catch (const TransportFailure& e) {
    throw SessionLost{e.message()};
  }
  if (r.status == 404) throw SessionLost{"upload session lost (HTTP 404)"};
  if (r.status == 413 && request.body_size > 0) {
    throw BodyTooLarge{"a " + std::to_string(request.body_size) + "-byte upload refused (HTTP 413)"};
  }
  // distribution's answer to a PUT into a session it is already closing (a
  // retry of a PUT whose answer was lost): push_blob finds out whether the
  // blob landed. Real corruption fails again on the next session.
  if (std::string errors = describe_registry_errors(r.body);
      r.status == 400 && (errors.find("DIGEST_INVALID") != std::string::npos ||
                          errors.find("BLOB_UPLOAD_INVALID") != std::string::npos)) {
    throw SessionLost{"HTTP 400 closing the upload: " + errors};
  }
  if (is_transient(r.status)) {
    std::optional<std::chrono::milliseconds> wait;
    if (!r.header("retry-after").empty()) wait = http_.backoff(0, &r);
    throw SessionLost{"HTTP " + std::to_string(r.status) + " closing the upload", wait};
  }
  if (r.status != 201 && !r.ok()) fail(r, "uploading blob " + blob.digest.str() + " to", repository);
  if (std::string dcd = r.header("docker-content-digest"); !dcd.empty() && Digest::parse(dcd) != blob.digest) {
    throw Error("pushing blob " + blob.digest.str() + " to " + host_ + "/" + repository + ": registry computed " + dcd);
  }
}

}  // namespace slipway::registry
