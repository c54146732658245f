#pragma once
// A ByteSink that writes to a file descriptor (a pipe or a file).
#include <unistd.h>

#include <cerrno>

#include "common/error.h"
#include "layers/byte_sink.h"

namespace slipway::build {

class FdSink : public ByteSink {
 public:
  FdSink(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  void write(const void* data, size_t size) override {
    const char* p = static_cast<const char*>(data);
    while (size) {
      ssize_t n = ::write(fd_, p, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw sys_error("writing " + what_);
      }
      p += n;
      size -= static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
  std::string what_;
};

}  // namespace slipway::build
