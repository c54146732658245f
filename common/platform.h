#pragma once
// OCI platforms ("linux/arm64/v8") and the host's own platform.
#include <string>
#include <string_view>

namespace slipway {

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // GOARCH names: amd64, arm64, arm, 386, ppc64le, s390x, riscv64
  std::string variant;       // "v8", "v7", or empty
  std::string os_version;    // Windows only; kept for index entries

  // "os/arch" or "os/arch/variant".
  std::string str() const;
  bool operator==(const Platform&) const = default;
};

// Parses "os/arch[/variant]" and normalises it as containerd does: aarch64 ->
// arm64, x86_64 -> amd64, arm64 gets v8 and arm gets v7 unless a variant is
// given. Throws Error on a malformed string.
Platform parse_platform(std::string_view text);

// Returns the platform normalised as parse_platform would.
Platform normalize_platform(Platform p);

// True when `have` satisfies `want` after normalisation (an empty variant in
// `want` matches any variant of the same os/arch).
bool platform_matches(const Platform& want, const Platform& have);

// The platform this process runs on, from uname(2).
Platform host_platform();

}  // namespace slipway
