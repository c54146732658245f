#pragma once
// Standard and URL-safe base64 (RFC 4648), for Basic auth, docker config
// "auth" fields and JWTs.
#include <optional>
#include <string>
#include <string_view>

namespace slipway::registry {

std::string base64_encode(std::string_view data, bool url_safe = false, bool pad = true);
// Accepts both alphabets, with or without padding; nullopt on bad input.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace slipway::registry
