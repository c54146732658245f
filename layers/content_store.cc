#include "layers/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <random>

#include "common/error.h"

namespace slipway {
namespace {

void mkdir_p(const std::string& path) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0755) == 0) continue;
    int err = errno;
    // A read-only mount says EROFS even for a directory that exists.
    struct stat st;
    if (::stat(cur.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    throw sys_error("creating " + cur, err);
  }
}

std::string random_hex() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^ (uint64_t(::getpid()) << 32)};
  static const char* digits = "0123456789abcdef";
  std::string s;
  uint64_t v = rng();
  for (int i = 0; i < 16; ++i, v >>= 4) s += digits[v & 15];
  return s;
}

void write_all(int fd, const void* data, size_t size, const std::string& what) {
  auto p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("writing " + what);
    }
    p += n;
    size -= size_t(n);
  }
}

void fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw sys_error("opening " + dir);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw sys_error("syncing " + dir);
}

bool is_hex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

ContentStore::ContentStore(std::string root) : root_(std::move(root)) {
  if (root_.empty()) throw Error("content store: empty root path");
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  mkdir_p(root_ + "/blobs/sha256");
}

std::string ContentStore::blob_path(const Digest& d) const {
  // Re-validate: a Digest built by hand could carry "../" into a path.
  Digest checked = Digest::parse(d.str());
  return root_ + "/blobs/" + checked.algorithm + "/" + checked.hex;
}

bool ContentStore::exists(const Digest& d) const { return size(d).has_value(); }

std::optional<uint64_t> ContentStore::size(const Digest& d) const {
  struct stat st;
  std::string p = blob_path(d);
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw sys_error("stat " + p);
  }
  if (!S_ISREG(st.st_mode)) throw Error("content store: " + p + " is not a regular file");
  return uint64_t(st.st_size);
}

void ContentStore::remove(const Digest& d) const {
  std::string p = blob_path(d);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw sys_error("removing " + p);
}

std::vector<Digest> ContentStore::list() const {
  std::vector<Digest> out;
  std::string dir = root_ + "/blobs/sha256";
  DIR* dp = ::opendir(dir.c_str());
  if (!dp) throw sys_error("listing " + dir);
  while (dirent* e = ::readdir(dp)) {
    std::string name = e->d_name;
    if (is_hex64(name)) out.push_back(Digest{"sha256", name});  // skips temp files
  }
  ::closedir(dp);
  std::sort(out.begin(), out.end());
  return out;
}

size_t ContentStore::remove_abandoned(int64_t min_age_seconds) const {
  std::string dir = root_ + "/blobs/sha256";
  DIR* dp = ::opendir(dir.c_str());
  if (!dp) throw sys_error("listing " + dir);
  size_t removed = 0;
  time_t now = ::time(nullptr);
  while (dirent* e = ::readdir(dp)) {
    std::string name = e->d_name;
    if (name.rfind(".tmp-", 0) != 0) continue;
    std::string path = dir + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    // The age check covers the instant between a writer's open and its flock.
    if (now - st.st_mtime < min_age_seconds) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a writer is alive
    if (::unlink(path.c_str()) == 0) ++removed;
  }
  ::closedir(dp);
  return removed;
}

ContentStore::Writer ContentStore::writer() const {
  // Temp files live beside the blobs so the final rename never crosses a file
  // system; the dot prefix keeps them out of list() and of OCI readers.
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string temp = root_ + "/blobs/sha256/.tmp-" + random_hex();
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      // Fresh file: nobody else can hold the lock, so this cannot block.
      // It tells remove_abandoned() that the temp file is in use.
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        errno = e;
        throw sys_error("locking " + temp);
      }
      return Writer(this, UniqueFd(fd), temp);
    }
    if (errno != EEXIST) throw sys_error("creating " + temp);
  }
  throw Error("content store: cannot create a unique temp file in " + root_);
}

ContentStore::Writer::Writer(const ContentStore* store, UniqueFd fd, std::string temp_path)
    : store_(store), fd_(std::move(fd)), temp_path_(std::move(temp_path)), sha_(std::make_unique<Sha256>()) {}

ContentStore::Writer::Writer(Writer&& o) noexcept
    : store_(o.store_),
      fd_(std::move(o.fd_)),
      temp_path_(std::move(o.temp_path_)),
      sha_(std::move(o.sha_)),
      written_(o.written_),
      flushed_(o.flushed_),
      done_(std::exchange(o.done_, true)),
      existed_(o.existed_) {}

ContentStore::Writer::~Writer() {
  if (!done_) ::unlink(temp_path_.c_str());
}

void ContentStore::Writer::write(const void* data, size_t size) {
  if (done_) throw Error("content store: write after commit");
  if (sha_) sha_->update(data, size);
  write_all(fd_.get(), data, size, temp_path_);
  written_ += size;
  // Start writeback of every full 8 MiB as we go, so the fsync in commit()
  // finds little left to flush instead of the whole layer. Advisory only.
  constexpr uint64_t kFlushChunk = 8 << 20;
  if (written_ - flushed_ >= kFlushChunk) {
    uint64_t len = (written_ - flushed_) / kFlushChunk * kFlushChunk;
    (void)::sync_file_range(fd_.get(), off64_t(flushed_), off64_t(len), SYNC_FILE_RANGE_WRITE);
    flushed_ += len;
  }
}

void ContentStore::Writer::skip_hashing() {
  if (written_ > 0) throw Error("content store: skip_hashing after a write");
  sha_.reset();
}

Digest ContentStore::Writer::commit(const std::optional<Digest>& expected, std::optional<uint64_t> expected_size) {
  if (done_) throw Error("content store: commit called twice");
  if (!sha_ && !expected) throw Error("content store: commit without a digest after skip_hashing");
  Digest got = sha_ ? sha_->finish() : *expected;
  if (expected_size && *expected_size != written_) {
    throw Error("size mismatch for " + (expected ? expected->str() : got.str()) + ": expected " +
                std::to_string(*expected_size) + " bytes, got " + std::to_string(written_));
  }
  if (expected && !(*expected == got)) {
    throw Error("digest mismatch: expected " + expected->str() + ", got " + got.str());
  }
  if (::fsync(fd_.get()) != 0) throw sys_error("syncing " + temp_path_);
  fd_.reset();
  std::string final_path = store_->blob_path(got);
  existed_ = ::access(final_path.c_str(), F_OK) == 0;
  // rename(2) replaces atomically: a concurrent commit of the same digest put
  // identical bytes there, so either winner is correct.
  if (::rename(temp_path_.c_str(), final_path.c_str()) != 0) throw sys_error("committing " + final_path);
  done_ = true;
  fsync_dir(store_->root_ + "/blobs/sha256");
  return got;
}

Digest ContentStore::put(std::string_view data, const std::optional<Digest>& expected) const {
  Writer w = writer();
  w.write(data.data(), data.size());
  return w.commit(expected, data.size());
}

ContentStore::Reader::Reader(Digest d, UniqueFd fd, uint64_t size, bool verify)
    : digest_(std::move(d)), fd_(std::move(fd)), size_(size) {
  if (verify) {
    if (digest_.algorithm != "sha256") throw Error("cannot verify " + digest_.str() + ": only sha256 is supported");
    sha_ = std::make_unique<Sha256>();
  }
}

size_t ContentStore::Reader::read(void* buf, size_t size) {
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("reading blob " + digest_.str());
    }
    read_ += uint64_t(n);
    if (sha_) {
      sha_->update(buf, size_t(n));
      if (n == 0 && size > 0) {
        Digest got = sha_->finish();
        sha_.reset();
        if (!(got == digest_)) {
          throw Error("blob " + digest_.str() + " is corrupt: its content hashes to " + got.str());
        }
      }
    }
    return size_t(n);
  }
}

ContentStore::Reader ContentStore::open(const Digest& d, bool verify) const {
  std::string p = blob_path(d);
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) throw Error("blob " + d.str() + " not found in " + root_);
    throw sys_error("opening " + p);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw sys_error("stat " + p);
  return Reader(d, std::move(fd), uint64_t(st.st_size), verify);
}

void ContentStore::copy_to(const Digest& d, ByteSink& out) const {
  Reader r = open(d, true);
  std::vector<char> buf(128 * 1024);
  while (size_t n = r.read(buf.data(), buf.size())) out.write(buf.data(), n);
}

std::string ContentStore::read_all(const Digest& d) const {
  StringSink s;
  copy_to(d, s);
  return s.out;
}

}  // namespace slipway
