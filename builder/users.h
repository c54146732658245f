#pragma once
// USER and COPY --chown names resolved through the image's own /etc/passwd
// and /etc/group (never the host's).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace slipway::build {

// Reads a file of the image's root filesystem by its path relative to the
// root ("etc/passwd"); nullopt when absent.
using RootFileReader = std::function<std::optional<std::string>(const std::string& rel)>;

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;  // supplementary, from /etc/group membership
  std::string home = "/";
};

// USER semantics (runc's GetExecUser): "name|uid[:group|gid]". A name must
// exist in /etc/passwd; a numeric uid need not (then gid 0 unless given).
// Supplementary groups: every /etc/group entry listing the user's name.
ResolvedUser resolve_user(const std::string& spec, const RootFileReader& read);

// COPY/ADD --chown semantics: a user without a group gets the user's
// primary group when the name is in /etc/passwd, else the uid as gid.
std::pair<uint32_t, uint32_t> resolve_chown(const std::string& spec, const RootFileReader& read);

}  // namespace slipway::build
