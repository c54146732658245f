#include "layers/compress.h"

#include <archive.h>
#include <archive_entry.h>

#include <catch2/catch.hpp>
#include <random>

#include "common/error.h"
#include "layers/pack_test_util.h"

using namespace slipway;
using slipway::testing::run;
using slipway::testing::TempDir;
using slipway::testing::write_file;

namespace {

// Half text (compressible), half random: both deflate paths get exercised.
std::string sample(size_t size, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::string s;
  s.reserve(size);
  while (s.size() < size) {
    if (rng() % 2) {
      s += "line " + std::to_string(rng() % 1000) + " of some fairly repetitive layer content\n";
    } else {
      for (int i = 0; i < 64; ++i) s += char(rng());
    }
  }
  s.resize(size);
  return s;
}

std::string compress(const std::string& in, Compression algo, unsigned threads, int level = -1, size_t chunk = 7777) {
  StringSink out;
  CompressOptions o;
  o.algorithm = algo;
  o.threads = threads;
  o.level = level;
  auto c = make_compressor(o, out);
  for (size_t off = 0; off < in.size(); off += chunk) c->write(in.data() + off, std::min(chunk, in.size() - off));
  c->finish();
  return out.out;
}

std::string decompress(const std::string& in, Compression algo) {
  StringSink out;
  auto d = make_decompressor(algo, out);
  for (size_t off = 0; off < in.size(); off += 5000) d->write(in.data() + off, std::min<size_t>(5000, in.size() - off));
  d->finish();
  return out.out;
}

std::string libarchive_raw_decode(const std::string& in) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  REQUIRE(archive_read_open_memory(a, in.data(), in.size()) == ARCHIVE_OK);
  archive_entry* e;
  REQUIRE(archive_read_next_header(a, &e) == ARCHIVE_OK);
  std::string out;
  char buf[65536];
  la_ssize_t n;
  while ((n = archive_read_data(a, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  CHECK(n == 0);
  archive_read_free(a);
  return out;
}

}  // namespace

TEST_CASE("gzip: identical bytes for 1, 2, 4 and 8 threads, readable by gzip, pigz and libarchive") {
  // 3 MiB + a bit: many 128 KiB blocks and a partial last one.
  std::string in = sample(3 * 1024 * 1024 + 12345);
  std::string one = compress(in, Compression::kGzip, 1);
  for (unsigned t : {2u, 4u, 8u}) CHECK(compress(in, Compression::kGzip, t) == one);
  CHECK(compress(in, Compression::kGzip, 3, -1, 1 << 20) == one);  // write sizes do not matter either
  CHECK(one.size() < in.size());
  CHECK(decompress(one, Compression::kGzip) == in);
  CHECK(libarchive_raw_decode(one) == in);

  TempDir tmp;
  write_file(tmp / "x.gz", one);
  std::string want = sha256_of(in).hex;
  CHECK(run("gzip -dc '" + tmp / "x.gz" + "' | sha256sum").substr(0, 64) == want);
  CHECK(run("pigz -dc '" + tmp / "x.gz" + "' | sha256sum").substr(0, 64) == want);
  CHECK_NOTHROW(run("gzip -t '" + tmp / "x.gz" + "'"));
}

TEST_CASE("gzip: edge sizes and levels") {
  for (size_t size : {size_t(0), size_t(1), size_t(128 * 1024), size_t(256 * 1024), size_t(256 * 1024 + 1)}) {
    std::string in = sample(size, size);
    std::string z = compress(in, Compression::kGzip, 4);
    CHECK(z == compress(in, Compression::kGzip, 1));
    CHECK(decompress(z, Compression::kGzip) == in);
    CHECK(detect_compression(z.data(), z.size()) == Compression::kGzip);
  }
  std::string in = sample(1 << 20);
  std::string fast = compress(in, Compression::kGzip, 2, 1);
  std::string best = compress(in, Compression::kGzip, 2, 9);
  CHECK(fast != best);
  CHECK(best.size() <= fast.size());
  CHECK(decompress(fast, Compression::kGzip) == in);
  CHECK(decompress(best, Compression::kGzip) == in);
  CHECK_THROWS_AS(compress(in, Compression::kGzip, 1, 12), Error);
}

TEST_CASE("gzip: a truncated or corrupted stream is an error") {
  std::string z = compress(sample(300000), Compression::kGzip, 2);
  CHECK_THROWS_AS(decompress(z.substr(0, z.size() / 2), Compression::kGzip), Error);
  std::string bad = z;
  bad[bad.size() - 6] ^= 0x55;  // the CRC
  CHECK_THROWS_AS(decompress(bad, Compression::kGzip), Error);
}

TEST_CASE("zstd: identical bytes for 1, 2 and 4 workers, readable by zstd -d") {
  std::string in = sample(12 * 1024 * 1024 + 777);
  std::string one = compress(in, Compression::kZstd, 1);
  CHECK(compress(in, Compression::kZstd, 2) == one);
  CHECK(compress(in, Compression::kZstd, 4) == one);
  CHECK(detect_compression(one.data(), one.size()) == Compression::kZstd);
  CHECK(decompress(one, Compression::kZstd) == in);
  CHECK(libarchive_raw_decode(one) == in);
  TempDir tmp;
  write_file(tmp / "x.zst", one);
  CHECK(run("zstd -dc '" + tmp / "x.zst" + "' | sha256sum").substr(0, 64) == sha256_of(in).hex);
  std::string l19 = compress(in.substr(0, 1 << 20), Compression::kZstd, 2, 19);
  CHECK(decompress(l19, Compression::kZstd) == in.substr(0, 1 << 20));
  CHECK_THROWS_AS(decompress(one.substr(0, one.size() - 10), Compression::kZstd), Error);
  CHECK(decompress(compress("", Compression::kZstd, 2), Compression::kZstd).empty());
}

TEST_CASE("compression names") {
  CHECK(parse_compression("gzip") == Compression::kGzip);
  CHECK(parse_compression("uncompressed") == Compression::kNone);
  CHECK(compression_name(Compression::kZstd) == "zstd");
  CHECK_THROWS_AS(parse_compression("lz4"), Error);
  CHECK(detect_compression("ustar", 5) == Compression::kNone);
}
