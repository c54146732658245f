#include "common/temp_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

TEST_CASE("a temp dir goes away with everything in it, symlinks not followed") {
  slipway::TempDir outside;
  std::ofstream(outside.path() + "/keep") << "x";
  std::string path;
  {
    slipway::TempDir t;
    path = t.path();
    fs::create_directories(path + "/a/b/c");
    std::ofstream(path + "/a/b/c/f") << "x";
    fs::create_directory_symlink(outside.path(), path + "/a/link");
    chmod((path + "/a/b").c_str(), 0);  // as a RUN step might leave it
  }
  CHECK_FALSE(fs::exists(path));
  CHECK(fs::exists(outside.path() + "/keep"));
}

TEST_CASE("release keeps the directory") {
  std::string path;
  {
    slipway::TempDir t;
    path = t.release();
  }
  CHECK(fs::is_directory(path));
  slipway::remove_tree(path);
  CHECK_FALSE(fs::exists(path));
}
