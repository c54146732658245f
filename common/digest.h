#pragma once
// Content digests ("sha256:<64 hex>") and a streaming SHA-256, shared by
// layers/ (diffIDs, blob digests) and registry/ (verifying what it pulls).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace slipway {

struct Digest {
  std::string algorithm;  // "sha256" or "sha512"
  std::string hex;        // lower-case hex, validated length

  // Parses and validates "algo:hex"; throws Error on anything else, because a
  // digest names a path in the content store and must never carry "/" or "..".
  static Digest parse(std::string_view text);
  std::string str() const { return algorithm + ":" + hex; }
  bool operator==(const Digest&) const = default;
  bool operator<(const Digest& o) const { return str() < o.str(); }
};

// Incremental SHA-256 (OpenSSL EVP). Feed bytes, then finish() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  Digest finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digest sha256_of(std::string_view data);

}  // namespace slipway
