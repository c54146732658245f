#pragma once
// Streaming compressors and decompressors for layer blobs.
//
// gzip is compressed on every core the way pigz does it: the input is cut
// into fixed-size blocks, each block is deflated on its own with the previous
// 32 KiB of input as its dictionary and ends with a sync flush (the last with
// Z_FINISH), and the pieces are joined into ONE standard gzip member whose
// CRC-32 is combined with crc32_combine. Block boundaries depend only on the
// input, so the bytes are the same for any thread count. Memory is bounded: at
// most a fixed number of blocks are in flight.
//
// zstd uses libzstd's own workers (ZSTD_c_nbWorkers >= 1 always, since its
// output is identical for any worker count >= 1 but differs from 0).
#include <cstddef>
#include <memory>
#include <string>

#include "layers/byte_sink.h"

namespace slipway {

enum class Compression { kNone, kGzip, kZstd };

std::string compression_name(Compression c);  // "none", "gzip", "zstd"
// Parses "gzip", "zstd", "none" / "uncompressed"; throws Error otherwise.
Compression parse_compression(const std::string& name);
// Sniffs the magic bytes of a blob: gzip, zstd, or kNone for anything else.
Compression detect_compression(const void* head, size_t size);

struct CompressOptions {
  Compression algorithm = Compression::kGzip;
  int level = -1;        // -1: the default (gzip 6, zstd 3)
  unsigned threads = 0;  // 0: every core
  size_t block_size = 128 * 1024;  // gzip only; part of the output format, keep fixed
};

// A sink that compresses into `out`. Call finish() exactly once, after the
// last write; destroying it unfinished discards the stream.
class Compressor : public ByteSink {
 public:
  virtual void finish() = 0;
};

// kNone gives a pass-through.
std::unique_ptr<Compressor> make_compressor(const CompressOptions& options, ByteSink& out);

// A sink fed with compressed bytes that writes the decompressed bytes to
// `out`. finish() throws Error when the stream is truncated.
class Decompressor : public ByteSink {
 public:
  virtual void finish() = 0;
};
std::unique_ptr<Decompressor> make_decompressor(Compression algorithm, ByteSink& out);

// Internal factories, one per file.
std::unique_ptr<Compressor> make_gzip_compressor(const CompressOptions& options, ByteSink& out);
std::unique_ptr<Compressor> make_zstd_compressor(const CompressOptions& options, ByteSink& out);
std::unique_ptr<Decompressor> make_gzip_decompressor(ByteSink& out);
std::unique_ptr<Decompressor> make_zstd_decompressor(ByteSink& out);

unsigned effective_threads(unsigned requested);

}  // namespace slipway
