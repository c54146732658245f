#include "common/platform.h"

#include <sys/utsname.h>

#include "common/error.h"

namespace slipway {

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform normalize_platform(Platform p) {
  for (auto& c : p.os) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& c : p.architecture) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string& a = p.architecture;
  if (a == "x86_64" || a == "x86-64") {
    p.architecture = "amd64";
  } else if (a == "aarch64") {
    p.architecture = "arm64";
  } else if (a == "i386" || a == "i686") {
    p.architecture = "386";
  } else if (a == "armhf" || a == "armel") {
    p.variant = (a == "armhf") ? "v7" : "v6";
    p.architecture = "arm";
  }
  if (p.architecture == "arm64" && (p.variant.empty() || p.variant == "8")) p.variant = "v8";
  if (p.architecture == "arm") {
    if (p.variant.empty() || p.variant == "7") p.variant = "v7";
    else if (p.variant == "6") p.variant = "v6";
    else if (p.variant == "5") p.variant = "v5";
  }
  if (p.architecture == "amd64" && p.variant == "v1") p.variant.clear();
  return p;
}

Platform parse_platform(std::string_view text) {
  Platform p;
  std::string_view rest = text;
  auto next = [&rest]() {
    auto slash = rest.find('/');
    std::string part(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    return part;
  };
  p.os = next();
  if (rest.empty()) {
    throw Error("invalid platform \"" + std::string(text) + "\": expected os/arch[/variant]");
  }
  p.architecture = next();
  if (!rest.empty()) p.variant = next();
  if (!rest.empty() || p.os.empty() || p.architecture.empty()) {
    throw Error("invalid platform \"" + std::string(text) + "\": expected os/arch[/variant]");
  }
  return normalize_platform(p);
}

bool platform_matches(const Platform& want, const Platform& have) {
  Platform w = normalize_platform(want);
  Platform h = normalize_platform(have);
  if (w.os != h.os || w.architecture != h.architecture) return false;
  return w.variant.empty() || w.variant == h.variant;
}

Platform host_platform() {
  struct utsname u {};
  if (uname(&u) != 0) throw sys_error("uname");
  Platform p;
  p.os = "linux";
  std::string m = u.machine;
  if (m == "armv7l" || m == "armv7") {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (m == "armv6l") {
    p.architecture = "arm";
    p.variant = "v6";
  } else if (m == "ppc64le" || m == "s390x" || m == "riscv64") {
    p.architecture = m;
  } else {
    p.architecture = m;  // normalize maps x86_64, aarch64, i686 to OCI names
  }
  return normalize_platform(p);
}

}  // namespace slipway
