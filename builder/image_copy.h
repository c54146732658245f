#pragma once
// Copying an image, or a whole index, between registries, OCI image layouts
// and docker-archive tarballs: `slipway copy`, and `manifest create` bringing
// SRCs from another registry into the target repository.
//
// Blobs the destination already has are skipped (HEAD first); between two
// repositories of one registry they are mounted, not uploaded. Blobs stream:
// registry -> layout goes straight into the layout's store (verified at
// commit); registry -> another registry is uploaded while it downloads,
// through a scratch file (blob_relay.h); registry -> docker-archive passes
// through a scratch content store. Scratch space is removed when the copy
// ends. Manifests keep their exact bytes, so digests are preserved, except
// into a docker-archive, which has no manifest of its own.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/digest.h"
#include "common/platform.h"
#include "registry/options.h"
#include "registry/reference.h"

namespace slipway::copy {

// SRC or DST as skopeo writes them.
struct Location {
  enum class Kind { kRegistry, kOciLayout, kDockerArchive };
  Kind kind = Kind::kRegistry;
  // kRegistry: the image. A reference with neither tag nor digest (only
  // made in code, never parsed) means "push by digest, no tag".
  // kDockerArchive: the name:tag to record in (or pick from) the archive,
  // when has_ref.
  Reference ref;
  bool has_ref = false;
  std::string path;  // kOciLayout, kDockerArchive
  std::string tag;   // kOciLayout: the ref.name in index.json ("" = the only one / untagged)
  std::string text;  // as written, for messages

  // "docker://REF" or a plain REF, "oci:PATH[:TAG]", "docker-archive:PATH[:REF]".
  // Throws a usage error for other transports and malformed references.
  static Location parse(const std::string& text);
  static Location registry(Reference ref);
};

struct CopyOptions {
  // Copy every manifest of an index (and the index); otherwise an index SRC
  // is resolved to the image for `platform`.
  bool all = false;
  std::optional<Platform> platform;  // default: the host's
  // Options for each registry contacted; `pushing` for the destination.
  std::function<registry::RegistryOptions(const std::string& host, bool pushing)> registry_options;
  // Blobs from a registry that must pass through the disk (into another
  // registry or a docker-archive) go to a scratch dir under its tmp/,
  // removed when the copy ends. "" is build::default_state_dir().
  std::string state_dir;
  int parallel = 4;  // blobs in flight at once
  // A human-readable line per blob and manifest (stderr in the CLI).
  std::function<void(const std::string&)> progress;
};

struct CopyResult {
  Digest digest;  // of the manifest or index DST now names (the source's, for a docker-archive)
  std::string media_type;
  int64_t size = 0;
  int manifests = 0;
  int blobs_uploaded = 0, blobs_mounted = 0, blobs_existed = 0;
  uint64_t bytes_uploaded = 0;  // written to the destination
};

// Copies SRC to DST. Throws Error naming SRC or DST on any failure; a
// partial copy leaves only complete, verified blobs behind.
CopyResult copy_image(const Location& src, const Location& dst, const CopyOptions& options);

}  // namespace slipway::copy
