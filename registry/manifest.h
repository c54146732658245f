#pragma once
// What the registry protocol adds to the OCI types of common/oci.h: the
// Accept header for manifests and telling a manifest from an index by its
// bytes.
#include <string>
#include <string_view>

#include "common/oci.h"
#include "common/platform.h"

namespace slipway::registry {

// The Accept header for manifest requests: every type we can read.
std::string manifest_accept_header();

// The media type of manifest bytes: the Content-Type the registry sent when
// it is specific, else the document's own mediaType field, else guessed from
// its shape. Throws Error for schema 1 and for anything that is not a
// manifest or index.
std::string detect_manifest_media_type(std::string_view body, std::string_view content_type);

}  // namespace slipway::registry
