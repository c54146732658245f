// zstd through libzstd's streaming API and its own worker threads.
#include <zstd.h>

#include <vector>

#include "common/error.h"
#include "layers/compress.h"

namespace slipway {
namespace {

constexpr int kJobSize = 2 << 20;

void check_zstd(size_t rc, const char* what) {
  if (ZSTD_isError(rc)) throw Error(std::string("zstd: ") + what + ": " + ZSTD_getErrorName(rc));
}

class ZstdCompressor : public Compressor {
 public:
  ZstdCompressor(const CompressOptions& o, ByteSink& out) : out_(out), buf_(ZSTD_CStreamOutSize()) {
    cctx_ = ZSTD_createCCtx();
    if (!cctx_) throw Error("zstd: out of memory");
    int level = o.level < 0 ? 3 : o.level;
    check_zstd(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level), "setting level");
    check_zstd(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1), "enabling checksums");
    // nbWorkers >= 1 even for one thread: libzstd promises identical output
    // for any worker count >= 1, while 0 (single-threaded mode) differs.
    unsigned workers = effective_threads(o.threads);
    check_zstd(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, int(workers)),
               "enabling worker threads (libzstd built without multithreading?)");
    // A fixed job size keeps memory bounded (the default grows with the
    // window to 8 MiB+ per job, ~66 MB RSS with 2 workers) and, being fixed,
    // keeps the output independent of the worker count.
    check_zstd(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_jobSize, kJobSize), "setting the job size");
  }
  ~ZstdCompressor() override { ZSTD_freeCCtx(cctx_); }
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;

  void write(const void* data, size_t size) override {
    ZSTD_inBuffer in{data, size, 0};
    while (in.pos < in.size) pump(in, ZSTD_e_continue);
  }

  void finish() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (pump(in, ZSTD_e_end) != 0) {
    }
  }

 private:
  size_t pump(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    ZSTD_outBuffer o{buf_.data(), buf_.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx_, &o, &in, mode);
    check_zstd(rc, "compressing");
    if (o.pos) out_.write(buf_.data(), o.pos);
    return rc;
  }

  ByteSink& out_;
  ZSTD_CCtx* cctx_ = nullptr;
  std::vector<char> buf_;
};

class ZstdDecompressor : public Decompressor {
 public:
  explicit ZstdDecompressor(ByteSink& out) : out_(out), buf_(ZSTD_DStreamOutSize()) {
    dctx_ = ZSTD_createDCtx();
    if (!dctx_) throw Error("zstd: out of memory");
  }
  ~ZstdDecompressor() override { ZSTD_freeDCtx(dctx_); }
  ZstdDecompressor(const ZstdDecompressor&) = delete;
  ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

  void write(const void* data, size_t size) override {
    ZSTD_inBuffer in{data, size, 0};
    bool full = false;
    // Loop while input remains or the decoder may hold more output.
    do {
      size_t before = in.pos;
      ZSTD_outBuffer o{buf_.data(), buf_.size(), 0};
      size_t rc = ZSTD_decompressStream(dctx_, &o, &in);
      if (ZSTD_isError(rc)) throw Error(std::string("zstd: corrupt stream: ") + ZSTD_getErrorName(rc));
      if (o.pos) out_.write(buf_.data(), o.pos);
      if (rc == 0) frame_done_ = true;  // 0: a frame was fully decoded and flushed
      else if (o.pos > 0 || in.pos > before) frame_done_ = false;
      full = o.pos == o.size;
    } while (in.pos < in.size || full);
    seen_ = true;
  }

  void finish() override {
    if (!seen_ || !frame_done_) throw Error("zstd: unexpected end of stream");
  }

 private:
  ByteSink& out_;
  ZSTD_DCtx* dctx_ = nullptr;
  std::vector<char> buf_;
  bool frame_done_ = false;
  bool seen_ = false;
};

}  // namespace

std::unique_ptr<Compressor> make_zstd_compressor(const CompressOptions& options, ByteSink& out) {
  return std::make_unique<ZstdCompressor>(options, out);
}

std::unique_ptr<Decompressor> make_zstd_decompressor(ByteSink& out) {
  return std::make_unique<ZstdDecompressor>(out);
}

}  // namespace slipway
