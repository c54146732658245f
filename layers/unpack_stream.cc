#include "layers/unpack_stream.h"

#include <zlib.h>
#include <zstd.h>

#include <cstring>

#include "common/error.h"

namespace slipway::layers {

struct LayerStream::Codec {
  z_stream z{};
  bool z_init = false;
  bool z_member_done = false;
  ZSTD_DStream* zstd = nullptr;
  size_t zstd_hint = 0;  // non-zero while a frame is incomplete
  ~Codec() {
    if (z_init) inflateEnd(&z);
    if (zstd) ZSTD_freeDStream(zstd);
  }
};

LayerStream::LayerStream(ReadFn read) : read_(std::move(read)), in_(256 * 1024), codec_(std::make_unique<Codec>()) {
  // Enough bytes for the magic; a short blob is simply plain (and then not tar).
  while (in_len_ < 4 && !in_eof_) fill_input();
  const unsigned char* p = in_.data();
  if (in_len_ >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
    compression_ = Compression::kGzip;
    // 16 + MAX_WBITS: gzip wrapper only; zlib or raw deflate is not a layer.
    if (inflateInit2(&codec_->z, 16 + MAX_WBITS) != Z_OK) throw Error("gzip: cannot initialise zlib");
    codec_->z_init = true;
  } else if (in_len_ >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
    compression_ = Compression::kZstd;
    codec_->zstd = ZSTD_createDStream();
    if (!codec_->zstd) throw Error("zstd: cannot create a decompression context");
    // The default window limit (128 MiB) also bounds our memory.
    ZSTD_initDStream(codec_->zstd);
  }
}

LayerStream::~LayerStream() = default;

// Appends more compressed input after the unread bytes; returns how many.
size_t LayerStream::fill_input() {
  if (in_eof_) return 0;
  if (in_pos_ > 0) {
    std::memmove(in_.data(), in_.data() + in_pos_, in_len_ - in_pos_);
    in_len_ -= in_pos_;
    in_pos_ = 0;
  }
  if (in_len_ == in_.size()) return 0;
  size_t n = read_(in_.data() + in_len_, in_.size() - in_len_);
  if (n == 0) in_eof_ = true;
  in_len_ += n;
  return n;
}

size_t LayerStream::read(void* buf, size_t size) {
  size_t n = 0;
  switch (compression_) {
    case Compression::kNone:
      if (in_pos_ == in_len_) fill_input();
      n = std::min(size, in_len_ - in_pos_);
      std::memcpy(buf, in_.data() + in_pos_, n);
      in_pos_ += n;
      break;
    case Compression::kGzip:
      n = read_gzip(buf, size);
      break;
    case Compression::kZstd:
      n = read_zstd(buf, size);
      break;
  }
  expanded_ += n;
  if (expanded_ > limit_) {
    throw Error("layer expands beyond the size limit (" + std::to_string(limit_) +
                " bytes of tar stream): refusing a possible decompression bomb");
  }
  return n;
}

size_t LayerStream::read_gzip(void* buf, size_t size) {
  z_stream& z = codec_->z;
  z.next_out = static_cast<Bytef*>(buf);
  z.avail_out = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
  while (z.avail_out > 0) {
    if (in_pos_ == in_len_ && fill_input() == 0 && in_pos_ == in_len_) break;
    if (codec_->z_member_done) {
      // Concatenated gzip members form one stream (RFC 1952 2.2).
      if (inflateReset(&z) != Z_OK) throw Error("gzip: cannot reset zlib");
      codec_->z_member_done = false;
    }
    z.next_in = in_.data() + in_pos_;
    z.avail_in = static_cast<uInt>(in_len_ - in_pos_);
    int rc = inflate(&z, Z_NO_FLUSH);
    in_pos_ = in_len_ - z.avail_in;
    if (rc == Z_STREAM_END) {
      codec_->z_member_done = true;
      continue;
    }
    if (rc == Z_BUF_ERROR) {
      if (in_eof_ && in_pos_ == in_len_) throw Error("gzip: truncated layer");
      continue;
    }
    if (rc != Z_OK) throw Error(std::string("gzip: corrupt layer: ") + (z.msg ? z.msg : "inflate failed"));
  }
  size_t n = size - z.avail_out;
  if (n == 0 && !codec_->z_member_done && in_eof_) throw Error("gzip: truncated layer");
  return n;
}

size_t LayerStream::read_zstd(void* buf, size_t size) {
  ZSTD_outBuffer out{buf, size, 0};
  size_t& last_hint = codec_->zstd_hint;
  while (out.pos < out.size) {
    if (in_pos_ == in_len_ && fill_input() == 0 && in_pos_ == in_len_) break;
    ZSTD_inBuffer in{in_.data(), in_len_, in_pos_};
    last_hint = ZSTD_decompressStream(codec_->zstd, &out, &in);
    in_pos_ = in.pos;
    if (ZSTD_isError(last_hint)) throw Error(std::string("zstd: corrupt layer: ") + ZSTD_getErrorName(last_hint));
    if (in.pos == in.size && out.pos < out.size && last_hint != 0 && in_eof_) break;
  }
  if (out.pos == 0 && in_eof_ && last_hint != 0) throw Error("zstd: truncated layer");
  return out.pos;
}

}  // namespace slipway::layers
