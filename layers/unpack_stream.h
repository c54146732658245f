#pragma once
// The decompressing front of apply_layer: detects gzip / zstd / plain tar by
// magic bytes and inflates it ourselves (not with libarchive's filters) so
// that every expanded byte passes through one counter we can bound: a
// decompression bomb stops here however libarchive decides to skip data.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace slipway::layers {

enum class Compression { kNone, kGzip, kZstd };

class LayerStream {
 public:
  using ReadFn = std::function<size_t(void* buf, size_t size)>;
  explicit LayerStream(ReadFn read);
  ~LayerStream();
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  Compression compression() const { return compression_; }
  // Up to `size` expanded bytes into buf; 0 at the end. Throws
  // slipway::Error on corrupt input or when more than limit() bytes expand.
  size_t read(void* buf, size_t size);
  uint64_t expanded() const { return expanded_; }
  void set_limit(uint64_t limit) { limit_ = limit; }

 private:
  size_t fill_input();
  size_t read_gzip(void* buf, size_t size);
  size_t read_zstd(void* buf, size_t size);

  ReadFn read_;
  Compression compression_ = Compression::kNone;
  std::vector<unsigned char> in_;
  size_t in_pos_ = 0, in_len_ = 0;
  bool in_eof_ = false;
  uint64_t expanded_ = 0;
  uint64_t limit_ = UINT64_MAX;
  struct Codec;
  std::unique_ptr<Codec> codec_;
};

}  // namespace slipway::layers
