#include "common/digest.h"

#include <openssl/evp.h>

#include "common/error.h"

namespace slipway {

Digest Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) throw Error("invalid digest \"" + std::string(text) + "\": missing algorithm");
  Digest d{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  size_t want = 0;
  if (d.algorithm == "sha256") want = 64;
  else if (d.algorithm == "sha512") want = 128;
  else throw Error("unsupported digest algorithm \"" + d.algorithm + "\" in \"" + std::string(text) + "\"");
  if (d.hex.size() != want) throw Error("invalid digest \"" + std::string(text) + "\": wrong length");
  for (char c : d.hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw Error("invalid digest \"" + std::string(text) + "\": not lower-case hex");
    }
  }
  return d;
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) {
    throw Error("cannot initialise SHA-256");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::update(const void* data, size_t size) {
  if (size && EVP_DigestUpdate(impl_->ctx, data, size) != 1) throw Error("SHA-256 update failed");
}

Digest Sha256::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, md, &len) != 1) throw Error("SHA-256 final failed");
  static const char* hexdigits = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    hex += hexdigits[md[i] >> 4];
    hex += hexdigits[md[i] & 15];
  }
  return Digest{"sha256", hex};
}

Digest sha256_of(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

}  // namespace slipway
