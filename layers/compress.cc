#include "layers/compress.h"

#include <thread>

#include "common/error.h"

namespace slipway {
namespace {

class PassThrough : public Compressor {
 public:
  explicit PassThrough(ByteSink& out) : out_(out) {}
  void write(const void* data, size_t size) override { out_.write(data, size); }
  void finish() override {}

 private:
  ByteSink& out_;
};

class PassThroughD : public Decompressor {
 public:
  explicit PassThroughD(ByteSink& out) : out_(out) {}
  void write(const void* data, size_t size) override { out_.write(data, size); }
  void finish() override {}

 private:
  ByteSink& out_;
};

}  // namespace

std::string compression_name(Compression c) {
  switch (c) {
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
    default: return "none";
  }
}

Compression parse_compression(const std::string& name) {
  if (name == "gzip") return Compression::kGzip;
  if (name == "zstd") return Compression::kZstd;
  if (name == "none" || name == "uncompressed") return Compression::kNone;
  throw Error("unknown compression \"" + name + "\" (want gzip, zstd or uncompressed)");
}

Compression detect_compression(const void* head, size_t size) {
  auto b = static_cast<const unsigned char*>(head);
  if (size >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8) return Compression::kGzip;
  if (size >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) return Compression::kZstd;
  return Compression::kNone;
}

unsigned effective_threads(unsigned requested) {
  if (requested > 0) return requested;
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

std::unique_ptr<Compressor> make_compressor(const CompressOptions& options, ByteSink& out) {
  switch (options.algorithm) {
    case Compression::kGzip: return make_gzip_compressor(options, out);
    case Compression::kZstd: return make_zstd_compressor(options, out);
    default: return std::make_unique<PassThrough>(out);
  }
}

std::unique_ptr<Decompressor> make_decompressor(Compression algorithm, ByteSink& out) {
  switch (algorithm) {
    case Compression::kGzip: return make_gzip_decompressor(out);
    case Compression::kZstd: return make_zstd_decompressor(out);
    default: return std::make_unique<PassThroughD>(out);
  }
}

}  // namespace slipway
