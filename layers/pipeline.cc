#include "layers/pipeline.h"

namespace slipway {

LayerResult write_layer(const ContentStore& store, const std::function<void(ByteSink&)>& produce,
                        const LayerOptions& options) {
  ContentStore::Writer blob = store.writer();
  // The store's writer hashes and counts what it writes: that is the blob digest.
  std::unique_ptr<Compressor> compressor = make_compressor(options.compression, blob);
  DigestingSink tar_digest(*compressor);
  produce(tar_digest);
  compressor->finish();
  compressor.reset();  // joins the worker threads before the blob is committed

  LayerResult r;
  r.diff_id = tar_digest.finish();
  r.uncompressed_size = tar_digest.size();
  r.descriptor.media_type = layer_media_type(options.compression.algorithm, options.docker_media_types);
  r.descriptor.size = int64_t(blob.written());
  r.descriptor.digest = blob.commit();
  return r;
}

LayerResult write_layer(const ContentStore& store, std::vector<TarEntry> entries, const TarOptions& tar,
                        const LayerOptions& options) {
  return write_layer(
      store, [&](ByteSink& sink) { write_tar(std::move(entries), sink, tar); }, options);
}

}  // namespace slipway
