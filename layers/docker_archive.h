#pragma once
// docker-archive tarballs: what `docker save` writes and `docker load`,
// `podman load` and skopeo's "docker-archive:" read.
//
// Written layout (the Docker >= 25 file names, which older loaders accept
// because they only follow the paths in manifest.json):
//   blobs/sha256/<config hex>      the config, byte for byte as stored
//   blobs/sha256/<diffID hex>      each layer as an UNCOMPRESSED tar, named by
//                                  its diffID (compressed blobs are inflated;
//                                  the diffID is checked against the config)
//   manifest.json                  [{"Config": ..., "RepoTags": [...], "Layers": [...]}]
//   repositories                   {"name": {"tag": "<top layer hex>"}} for old tools
// Every entry has owner 0:0 and mtime 0, so the output is deterministic.
#include <string>
#include <vector>

#include "layers/byte_sink.h"
#include "layers/content_store.h"
#include "layers/image.h"

namespace slipway {

// Writes the image described by `manifest` (its config and layers must be in
// `store`) with the given "name:tag" references.
void write_docker_archive(const ContentStore& store, const Manifest& manifest,
                          const std::vector<std::string>& repo_tags, ByteSink& out);

struct DockerArchiveImage {
  Manifest manifest;  // Docker v2s2 (OCI when a layer is zstd); config and layers are in the store
  ImageConfig config;
  std::vector<std::string> repo_tags;
};

// Reads a docker-archive (optionally gzip/zstd-compressed, any entry order,
// legacy "<id>/layer.tar" names and symlinked layers included) and stores its
// configs and layers, as they are, in `store`. Uncompressed layers are checked
// against the config's diff_ids. Files that no manifest references are not
// kept. Throws Error on a malformed archive or a missing manifest.json.
std::vector<DockerArchiveImage> read_docker_archive(const std::string& path, const ContentStore& store);

}  // namespace slipway
