#pragma once
// A private copy of a root filesystem, for the copy snapshotter (no
// overlayfs): the tree is streamed as a tar from one thread into the safe
// unpacker in another, so owners, modes, xattrs, hardlinks and devices
// survive exactly as they would in a layer, without a temp file.
#include <string>

namespace slipway::build {

// Copies everything under `src` into the empty directory `dst`.
void copy_tree(const std::string& src, const std::string& dst);

}  // namespace slipway::build
