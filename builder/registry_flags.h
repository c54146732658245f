#pragma once
// The registry flags shared by build, copy and manifest (Kaniko's names),
// turned into registry::RegistryOptions.
#include <string>
#include <vector>

#include "builder/build_options.h"
#include "builder/flags.h"
#include "registry/options.h"

namespace slipway::cli {

// Adds --insecure, --insecure-registry, --skip-tls-verify,
// --skip-tls-verify-registry, --registry-certificate, --registry-client-cert,
// --registry-mirror, --push-retry and --image-download-retry to `fs`.
void add_registry_flags(FlagSet& fs, build::BuildOptions& o);

// The options for talking to registries; `pushing` picks --push-retry over
// --image-download-retry. Throws a usage error for malformed values.
// `host` is the registry about to be contacted: the global --insecure and
// --skip-tls-verify apply to it.
registry::RegistryOptions registry_options(const build::BuildOptions& o, bool pushing, const std::string& host);

}  // namespace slipway::cli
