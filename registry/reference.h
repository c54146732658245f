#pragma once
// Image references ("alpine", "ghcr.io/o/app:1.2", "localhost:5000/x@sha256:...")
// parsed and normalised the way Docker does (github.com/distribution/reference,
// ParseNormalizedNamed), so a name means the same repository here as in
// `docker pull`.
#include <string>
#include <string_view>

namespace slipway::registry {

struct Reference {
  std::string registry;    // "docker.io", "localhost:5000", "[::1]:5000"
  std::string repository;  // "library/alpine"
  std::string tag;         // may be empty when a digest is given
  std::string digest;      // "sha256:<hex>" or empty

  // Parses and normalises; throws Error quoting the input on any bad form.
  // Adds the tag "latest" only when neither a tag nor a digest was given.
  static Reference parse(std::string_view text);

  // "docker.io/library/alpine:latest", "x.io/a:t@sha256:..." (both kept).
  std::string str() const;
  // Docker's short form: "alpine:latest", "user/app:1", "x.io/a:t".
  std::string familiar() const;
  // "docker.io/library/alpine": registry/repository, no tag or digest.
  std::string name() const { return registry + "/" + repository; }
  // What to ask the registry's manifest endpoint for: the digest if pinned,
  // else the tag.
  std::string manifest_ref() const { return digest.empty() ? tag : digest; }

  // Copies with a validated tag / digest; the other field is kept.
  Reference with_tag(std::string_view new_tag) const;
  Reference with_digest(std::string_view new_digest) const;

  bool operator==(const Reference&) const = default;
};

// Validators shared with callers that take a tag or repository on their own
// (e.g. `--destination` tags); each returns false rather than throwing.
bool is_valid_tag(std::string_view tag);
bool is_valid_repository_path(std::string_view path);
bool is_valid_registry_host(std::string_view host);

}  // namespace slipway::registry

namespace slipway {
// References cross every module boundary (CLI, builder, registry), so they are
// also reachable without the registry:: prefix.
using registry::Reference;
}  // namespace slipway
