#pragma once
// Registry -> registry blob copy in one pass: the download appends to a
// scratch file and the upload reads behind it, waiting for bytes that have
// not arrived yet. The file (not memory) holds the blob, so a retried or
// restarted upload can read it again from any offset.
//
// Nothing unverified lands: the download checks the digest as it ends (and
// fails the upload if it does not match), and the registry checks the
// uploaded bytes against the digest in the final PUT.
#include <functional>
#include <string>

#include "registry/client.h"

namespace slipway::copy {

// Streams the blob `d` into `sink`, verifying it (RegistryClient::get_blob).
using BlobFetch = std::function<void(const registry::BodySink& sink)>;

// Uploads `d` to `repository` of `to` while `fetch` downloads it into
// `scratch_file` (created, and removed at the end).
registry::BlobPush relay_blob(registry::RegistryClient& to, const std::string& repository,
                              const Descriptor& d, const std::string& scratch_file, const BlobFetch& fetch);

}  // namespace slipway::copy
