#pragma once
// Compares two layer blobs entry by entry, to say *why* two builds that
// should be identical are not: usually an mtime, an owner, or a file whose
// content carries a timestamp. Used by `slipway build --verify-reproducible`.
#include <string>
#include <vector>

namespace slipway {

// Reads both tar streams (plain, gzip or zstd, by magic) and returns at most
// `limit` one-line differences such as "/etc/x: mtime 0 vs 1732800000" or
// "/tmp/y: only in the second". Empty when the entries agree (the blobs may
// still differ, e.g. in compression or entry order; the caller says so).
std::vector<std::string> compare_layers(const std::string& path_a, const std::string& path_b, size_t limit = 10);

}  // namespace slipway
