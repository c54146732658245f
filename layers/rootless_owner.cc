// The user.rootlesscontainers xattr (github.com/rootless-containers/proto):
// a proto3 `Resource { uint32 uid = 1; uint32 gid = 2; }`. Hand-encoded: two
// varint fields do not justify a protobuf dependency.
#include <sys/xattr.h>

#include <cerrno>
#include <cstdint>

#include "common/error.h"
#include "layers/unpack.h"

namespace slipway::layers {
namespace {

// umoci's NoopID: "leave this id alone", which on unpack means 0.
constexpr uint32_t kNoopId = 0xFFFFFFFFu;

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool get_varint(const std::string& in, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= in.size()) return false;
    auto byte = static_cast<uint8_t>(in[(*pos)++]);
    *v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

}  // namespace

std::string encode_rootless_owner(uint32_t uid, uint32_t gid) {
  // As umoci's unmapHeader: a zero id becomes NoopID, and proto3 omits
  // only zero values, so both fields are always present.
  std::string out;
  out.push_back(0x08);  // field 1, varint
  put_varint(&out, uid == 0 ? kNoopId : uid);
  out.push_back(0x10);  // field 2, varint
  put_varint(&out, gid == 0 ? kNoopId : gid);
  return out;
}

std::optional<std::pair<uint32_t, uint32_t>> decode_rootless_owner(const std::string& value) {
  uint32_t ids[2] = {0, 0};
  size_t pos = 0;
  while (pos < value.size()) {
    uint64_t key = 0;
    if (!get_varint(value, &pos, &key)) return std::nullopt;
    uint64_t field = key >> 3;
    switch (key & 7) {
      case 0: {
        uint64_t v = 0;
        if (!get_varint(value, &pos, &v)) return std::nullopt;
        if (field == 1 || field == 2) ids[field - 1] = static_cast<uint32_t>(v);
        break;
      }
      case 1:
        if (value.size() - pos < 8) return std::nullopt;
        pos += 8;
        break;
      case 2: {
        uint64_t len = 0;
        if (!get_varint(value, &pos, &len) || value.size() - pos < len) return std::nullopt;
        pos += len;
        break;
      }
      case 5:
        if (value.size() - pos < 4) return std::nullopt;
        pos += 4;
        break;
      default:
        return std::nullopt;
    }
  }
  for (uint32_t& id : ids) {
    if (id == kNoopId) id = 0;
  }
  return std::make_pair(ids[0], ids[1]);
}

namespace {

std::optional<std::pair<uint32_t, uint32_t>> parse_read(ssize_t n, const char* buf, const std::string& what) {
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return std::nullopt;
    throw sys_error("reading " + std::string(kRootlessXattr) + " of " + what);
  }
  auto owner = decode_rootless_owner(std::string(buf, static_cast<size_t>(n)));
  if (!owner) throw Error("malformed " + std::string(kRootlessXattr) + " xattr on " + what);
  return owner;
}

}  // namespace

std::optional<std::pair<uint32_t, uint32_t>> read_rootless_owner(int fd) {
  char buf[256];
  ssize_t n = ::fgetxattr(fd, kRootlessXattr, buf, sizeof buf);
  return parse_read(n, buf, "fd " + std::to_string(fd));
}

std::optional<std::pair<uint32_t, uint32_t>> read_rootless_owner(int dirfd, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    throw Error("read_rootless_owner: not a single path component: " + name);
  }
  // lgetxattr through the directory's fd: only `name` is looked up, unfollowed.
  std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), kRootlessXattr, buf, sizeof buf);
  return parse_read(n, buf, name);
}

}  // namespace slipway::layers
