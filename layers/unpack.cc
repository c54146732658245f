#include "layers/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <memory>

#include "common/error.h"
#include "common/fd.h"
#include "layers/unpack_fs.h"
#include "layers/unpack_stream.h"

namespace slipway::layers {
namespace {

// Tar framing the expanded stream may carry beyond file content: per entry
// (headers, PAX records with long names and xattrs) and once (libarchive's
// read-ahead). Past that, the stream is a bomb, not a layer.
constexpr uint64_t kHeaderAllowancePerEntry = 64 * 1024;
constexpr uint64_t kReadAheadAllowance = 8 * 1024 * 1024;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

struct ReadContext {
  LayerStream* stream;
  std::vector<char> buf;
  std::exception_ptr error;
};

la_ssize_t read_callback(archive* a, void* opaque, const void** out) {
  auto* ctx = static_cast<ReadContext*>(opaque);
  try {
    size_t n = ctx->stream->read(ctx->buf.data(), ctx->buf.size());
    *out = ctx->buf.data();
    return static_cast<la_ssize_t>(n);
  } catch (...) {
    // Rethrown by the caller: our message (a limit, a corrupt gzip) beats libarchive's.
    ctx->error = std::current_exception();
    archive_set_error(a, EIO, "read failed");
    return -1;
  }
}

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
uint64_t saturating_mul(uint64_t a, uint64_t b) { return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b; }

[[noreturn]] void archive_failure(archive* a, const ReadContext& ctx, const std::string& where) {
  if (ctx.error) std::rethrow_exception(ctx.error);
  const char* msg = archive_error_string(a);
  throw Error(where + ": " + (msg ? msg : "unreadable tar stream"));
}

uint32_t checked_id(la_int64_t id, const char* what, const std::string& name) {
  // 0xFFFFFFFF is chown's "leave unchanged", so it cannot be an owner.
  if (id < 0 || id >= 0xFFFFFFFFLL) throw Error("layer entry " + name + ": invalid " + what + " " + std::to_string(id));
  return static_cast<uint32_t>(id);
}

EntryInfo decode_entry(archive_entry* ent, const ApplyOptions& options) {
  EntryInfo e;
  const char* name = archive_entry_pathname(ent);
  if (!name) name = archive_entry_pathname_utf8(ent);
  if (!name || !*name) throw Error("layer entry without a name");
  e.name = name;
  if (e.name.size() > options.max_path_length) {
    throw Error("layer entry " + e.name.substr(0, 64) + "...: name longer than " +
                std::to_string(options.max_path_length) + " bytes");
  }
  e.type = archive_entry_filetype(ent);
  e.mode = archive_entry_perm(ent);
  e.uid = checked_id(archive_entry_uid(ent), "uid", e.name);
  e.gid = checked_id(archive_entry_gid(ent), "gid", e.name);
  e.rdev = archive_entry_rdev(ent);
  if (archive_entry_mtime_is_set(ent)) {
    e.has_mtime = true;
    e.mtime = {archive_entry_mtime(ent), archive_entry_mtime_nsec(ent)};
  }
  if (archive_entry_atime_is_set(ent)) {
    e.has_atime = true;
    e.atime = {archive_entry_atime(ent), archive_entry_atime_nsec(ent)};
  }
  for (const char* link : {archive_entry_hardlink(ent), archive_entry_symlink(ent)}) {
    if (link && std::string_view(link).size() > options.max_link_length) {
      throw Error("layer entry " + e.name + ": link target longer than " + std::to_string(options.max_link_length) +
                  " bytes");
    }
  }
  if (const char* hl = archive_entry_hardlink(ent)) {
    e.hardlink = hl;
    if (e.hardlink.empty()) throw Error("layer entry " + e.name + ": empty hardlink target");
  } else if (e.type == S_IFLNK) {
    const char* target = archive_entry_symlink(ent);
    if (!target || !*target) throw Error("layer entry " + e.name + ": empty symlink target");
    e.symlink = target;
  }
  la_int64_t size = archive_entry_size_is_set(ent) ? archive_entry_size(ent) : 0;
  e.size = size > 0 ? static_cast<uint64_t>(size) : 0;
  archive_entry_xattr_reset(ent);
  const char* xname = nullptr;
  const void* xvalue = nullptr;
  size_t xsize = 0;
  while (archive_entry_xattr_next(ent, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
    if (!xname) continue;
    std::string value(static_cast<const char*>(xvalue), xvalue ? xsize : 0);
    // libarchive writes (and reads back) both LIBARCHIVE.xattr and SCHILY.xattr records.
    auto same = std::find_if(e.xattrs.begin(), e.xattrs.end(), [&](const auto& x) { return x.first == xname; });
    if (same != e.xattrs.end()) {
      same->second = std::move(value);
    } else {
      e.xattrs.emplace_back(xname, std::move(value));
    }
  }
  return e;
}

void write_file_data(archive* a, const ReadContext& ctx, int fd, const EntryInfo& e, const ApplyOptions& options,
                     ApplyResult* result) {
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  uint64_t end = 0;
  for (;;) {
    int rc = archive_read_data_block(a, &buf, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) archive_failure(a, ctx, "layer entry " + e.name);
    if (offset < 0 || static_cast<uint64_t>(offset) + size > e.size) {
      throw Error("layer entry " + e.name + ": data beyond the declared size");
    }
    if (size > options.max_bytes - result->bytes) {
      throw Error("layer entry " + e.name + ": layer content exceeds the limit of " +
                  std::to_string(options.max_bytes) + " bytes");
    }
    const char* p = static_cast<const char*>(buf);
    size_t left = size;
    auto pos = static_cast<off_t>(offset);
    while (left > 0) {
      ssize_t n = ::pwrite(fd, p, left, pos);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw sys_error("layer entry " + e.name + ": write");
      p += n;
      pos += n;
      left -= static_cast<size_t>(n);
    }
    result->bytes += size;
    end = static_cast<uint64_t>(offset) + size;
  }
  // A sparse file's trailing hole.
  if (end < e.size && ::ftruncate(fd, static_cast<off_t>(e.size)) != 0) {
    throw sys_error("layer entry " + e.name + ": truncate");
  }
}

}  // namespace

ApplyResult apply_layer(int root_dirfd, const ReadFn& read, const ApplyOptions& options) {
  LayerStream stream(read);
  ReadContext ctx{&stream, std::vector<char>(128 * 1024), nullptr};
  std::unique_ptr<archive, ArchiveDeleter> owner(archive_read_new());
  archive* a = owner.get();
  if (!a) throw Error("libarchive: out of memory");
  // tar covers ustar, pax, GNU and v7 tar; nothing else (zip, cpio, ...) is a
  // layer. The empty format accepts a zero-length blob as an empty layer.
  archive_read_support_format_tar(a);
  archive_read_support_format_empty(a);
  if (archive_read_open(a, &ctx, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
    archive_failure(a, ctx, "layer is not a tar archive");
  }

  ApplyResult result;
  Applier applier(root_dirfd, options, &result);
  uint64_t content = 0;   // declared file sizes, against max_bytes
  uint64_t declared = 0;  // the same in 512-byte tar blocks, for the stream limit
  auto update_limit = [&] {
    uint64_t framing = saturating_mul(result.entries + 1, kHeaderAllowancePerEntry);
    stream.set_limit(saturating_add(saturating_add(declared, framing), kReadAheadAllowance));
  };
  update_limit();
  std::string last = "(start of layer)";
  for (;;) {
    archive_entry* ent = nullptr;
    int rc = archive_read_next_header(a, &ent);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      if (archive_format(a) == 0 && !ctx.error) {
        const char* msg = archive_error_string(a);
        throw Error(std::string("layer is not a tar archive: ") + (msg ? msg : "unrecognised format"));
      }
      archive_failure(a, ctx, "reading layer after entry " + last);
    }
    if (++result.entries > options.max_entries) {
      throw Error("layer has more than " + std::to_string(options.max_entries) + " entries (limit)");
    }
    EntryInfo e = decode_entry(ent, options);
    last = e.name;
    if (e.size > options.max_bytes - std::min(options.max_bytes, content)) {
      throw Error("layer entry " + e.name + ": size " + std::to_string(e.size) + " exceeds the layer limit of " +
                  std::to_string(options.max_bytes) + " bytes");
    }
    content += e.size;
    declared = saturating_add(declared, (e.size + 511) / 512 * 512);
    update_limit();
    try {
      applier.apply(e, [&](int fd) { write_file_data(a, ctx, fd, e, options, &result); });
    } catch (const Error& err) {
      if (err.message().find(e.name) != std::string::npos) throw;
      throw err.with_context("layer entry " + e.name);
    }
  }
  applier.finish();
  return result;
}

ApplyResult apply_layer(int root_dirfd, int blob_fd, const ApplyOptions& options) {
  return apply_layer(
      root_dirfd,
      [blob_fd](void* buf, size_t size) -> size_t {
        for (;;) {
          ssize_t n = ::read(blob_fd, buf, size);
          if (n >= 0) return static_cast<size_t>(n);
          if (errno != EINTR) throw sys_error("reading layer blob");
        }
      },
      options);
}

ApplyResult apply_layer(const std::string& root_dir, const std::string& blob_path, const ApplyOptions& options) {
  UniqueFd root(::open(root_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw sys_error("opening " + root_dir);
  UniqueFd blob(::open(blob_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!blob) throw sys_error("opening " + blob_path);
  try {
    return apply_layer(root.get(), blob.get(), options);
  } catch (const Error& e) {
    throw e.with_context("applying " + blob_path + " to " + root_dir);
  }
}

}  // namespace slipway::layers
