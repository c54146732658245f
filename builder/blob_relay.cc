#include "builder/blob_relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "common/fd.h"

namespace slipway::copy {
namespace {

// What the download has done so far, shared with the upload's reader.
struct Progress {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t written = 0;
  bool done = false;
  bool cancel = false;  // the upload gave up: stop downloading
  std::exception_ptr error;
};

struct Cancelled {};

void write_all(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw sys_error("writing " + path);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Unlinks the scratch file however the relay ends; the fds keep it readable
// until they close.
struct Unlinker {
  std::string path;
  ~Unlinker() { ::unlink(path.c_str()); }
};

}  // namespace

registry::BlobPush relay_blob(registry::RegistryClient& to, const std::string& repository,
                              const Descriptor& d, const std::string& scratch_file, const BlobFetch& fetch) {
  UniqueFd wfd(::open(scratch_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!wfd) throw sys_error("creating " + scratch_file);
  Unlinker unlinker{scratch_file};
  auto rfd = std::make_shared<UniqueFd>(::open(scratch_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!*rfd) throw sys_error("opening " + scratch_file);
  auto st = std::make_shared<Progress>();

  std::thread downloader([&, st] {
    try {
      fetch([&](const char* data, size_t n) {
        {
          std::lock_guard lock(st->mu);
          if (st->cancel) throw Cancelled{};
        }
        write_all(wfd.get(), data, n, scratch_file);
        {
          std::lock_guard lock(st->mu);
          st->written += n;
        }
        st->cv.notify_all();
      });
    } catch (...) {
      std::lock_guard lock(st->mu);
      st->error = std::current_exception();
    }
    {
      std::lock_guard lock(st->mu);
      st->done = true;
    }
    st->cv.notify_all();
  });
  auto finish_download = [&](bool cancel) {
    {
      std::lock_guard lock(st->mu);
      st->cancel = cancel;
    }
    downloader.join();
  };

  registry::BlobSource blob;
  blob.digest = d.digest;
  blob.size = static_cast<uint64_t>(d.size);
  blob.read = [st, rfd, scratch_file](uint64_t offset, char* buf, size_t len) -> size_t {
    uint64_t avail = 0;
    {
      std::unique_lock lock(st->mu);
      st->cv.wait(lock, [&] { return st->written > offset || st->done; });
      if (st->error) std::rethrow_exception(st->error);
      if (offset >= st->written) return 0;
      avail = st->written - offset;
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(len, avail));
    for (;;) {
      ssize_t n = ::pread(rfd->get(), buf, want, static_cast<off_t>(offset));
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) throw sys_error("reading " + scratch_file);
    }
  };

  registry::BlobPush how;
  try {
    // The caller asked before starting the download (that is the point of
    // relaying only what is missing), so the push need not ask again.
    how = to.push_blob(repository, blob, {}, true);
  } catch (...) {
    finish_download(true);
    // A failed download explains a failed upload better than the upload does.
    std::lock_guard lock(st->mu);
    if (st->error) {
      try {
        std::rethrow_exception(st->error);
      } catch (const Cancelled&) {
      }
    }
    throw;
  }
  // The registry had it after all (another copy raced us): stop downloading.
  finish_download(how != registry::BlobPush::kUploaded);
  std::lock_guard lock(st->mu);
  if (st->error && how == registry::BlobPush::kUploaded) std::rethrow_exception(st->error);
  return how;
}

}  // namespace slipway::copy
