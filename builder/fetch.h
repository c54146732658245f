#pragma once
// ADD's remote sources: an http(s) URL fetched into a file, with the
// filename and mtime Docker gives it, and an optional checksum check.
#include <cstdint>
#include <optional>
#include <string>

#include "common/digest.h"

namespace slipway::build {

struct Fetched {
  std::string path;      // the downloaded file
  std::string filename;  // what ADD names it: the URL path's last segment
  int64_t mtime = 0;     // from Last-Modified, else 0
  Digest digest;         // sha256 of the content
};

// Downloads `url` into a new file in `dir`. Throws Error naming the URL and
// the HTTP status on failure (a 404 fails the build), and on a checksum
// mismatch when `checksum` ("sha256:<hex>") is given.
Fetched fetch_url(const std::string& url, const std::string& dir, const std::optional<std::string>& checksum);

// True for the sources ADD fetches rather than copies.
bool is_url(const std::string& source);

}  // namespace slipway::build
