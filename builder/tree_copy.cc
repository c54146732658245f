#include "builder/tree_copy.h"

#include <fcntl.h>
#include <unistd.h>

#include <exception>
#include <thread>

#include "common/error.h"
#include "common/fd.h"
#include "builder/fd_sink.h"
#include "layers/tar_writer.h"
#include "layers/unpack.h"

namespace slipway::build {


void copy_tree(const std::string& src, const std::string& dst) {
  UniqueFd src_fd(open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd dst_fd(open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src_fd || !dst_fd) throw sys_error("opening " + src + " and " + dst);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw sys_error("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  std::exception_ptr writer_error;
  std::thread writer([&] {
    try {
      FdSink sink(wr.get(), "a tree copy");
      TarOptions opts;
      opts.source_dir_fd = src_fd.get();
      write_tar(scan_tree(src_fd.get()), sink, opts);
    } catch (...) {
      writer_error = std::current_exception();
    }
    wr.reset();  // EOF for the reader, or EPIPE-free end after an error
  });
  std::exception_ptr reader_error;
  try {
    layers::apply_layer(dst_fd.get(), rd.get());
  } catch (...) {
    reader_error = std::current_exception();
    rd.reset();  // unblocks a writer stuck on a full pipe
  }
  writer.join();
  if (writer_error) std::rethrow_exception(writer_error);
  if (reader_error) std::rethrow_exception(reader_error);
}

}  // namespace slipway::build
