#pragma once
// The one streaming interface of layers/: the tar writer, the compressors,
// the digesters and the content-store writer are chained through it, so a
// layer flows from the file system to the store in one pass without temp
// copies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/digest.h"

namespace slipway {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(const void* data, size_t size) = 0;
};

// Collects everything in memory; for small blobs (JSON) and tests.
class StringSink : public ByteSink {
 public:
  void write(const void* data, size_t size) override { out.append(static_cast<const char*>(data), size); }
  std::string out;
};

// Hashes and counts what passes through, then forwards it.
class DigestingSink : public ByteSink {
 public:
  explicit DigestingSink(ByteSink& next) : next_(next) {}
  void write(const void* data, size_t size) override {
    sha_.update(data, size);
    size_ += size;
    next_.write(data, size);
  }
  uint64_t size() const { return size_; }
  Digest finish() { return sha_.finish(); }

 private:
  ByteSink& next_;
  Sha256 sha_;
  uint64_t size_ = 0;
};

}  // namespace slipway
