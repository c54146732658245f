#pragma once
// A directory that is removed, with everything in it, when its owner goes.
#include <string>

namespace slipway {

class TempDir {
 public:
  // Creates <parent>/<prefix>XXXXXX (parent "" means $TMPDIR or /tmp).
  explicit TempDir(const std::string& parent = "", const std::string& prefix = "slipway-");
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~TempDir();
  const std::string& path() const { return path_; }
  // Keeps the directory: the destructor no longer removes it.
  std::string release() { return std::move(path_); }

 private:
  std::string path_;
};

// rm -rf that never follows symlinks and makes unreadable directories
// readable first (a RUN step may leave mode 000 directories behind).
void remove_tree(const std::string& path);

}  // namespace slipway
