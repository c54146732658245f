#pragma once
// One pass from a tar stream to a committed blob:
//   tar -> sha256 (diffID) -> compressor -> sha256 + size (blob digest) -> content store
// Memory stays constant (the compressor holds a fixed number of blocks) and
// the layer is never copied to a temp file outside the store.
#include <cstdint>
#include <functional>
#include <vector>

#include "layers/byte_sink.h"
#include "layers/compress.h"
#include "layers/content_store.h"
#include "layers/image.h"
#include "layers/tar_writer.h"

namespace slipway {

struct LayerOptions {
  CompressOptions compression;
  bool docker_media_types = false;  // application/vnd.docker.image.rootfs.diff.tar.gzip
};

struct LayerResult {
  Descriptor descriptor;  // the blob: media type, digest, size
  Digest diff_id;         // sha256 of the uncompressed tar
  uint64_t uncompressed_size = 0;
};

// `produce` writes the uncompressed tar into the sink it is given.
LayerResult write_layer(const ContentStore& store, const std::function<void(ByteSink&)>& produce,
                        const LayerOptions& options = {});

// The usual case: a tar of `entries` (see write_tar).
LayerResult write_layer(const ContentStore& store, std::vector<TarEntry> entries, const TarOptions& tar,
                        const LayerOptions& options = {});

}  // namespace slipway
