#include "common/error.h"

#include <cstring>

namespace slipway {

Error sys_error(const std::string& what, int err) {
  // strerror_r's GNU variant may return a static string instead of filling buf.
  char buf[256];
  const char* text = strerror_r(err, buf, sizeof buf);
  return Error(what + ": " + text);
}

}  // namespace slipway
