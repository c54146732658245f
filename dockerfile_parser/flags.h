#pragma once
// Instruction flags (BuildKit's BFlags) and their structured values. The
// parser validates flag values with these functions at parse time, except
// values containing '$' of flags that BuildKit expands (expanded_flag(): the
// builder expands those, then calls the same functions). Flags BuildKit never
// expands (--network, --security, HEALTHCHECK's, booleans) are checked raw,
// so "$X" there is an error. Value errors are thrown as slipway::Error with a
// message that says what was expected.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace slipway::dockerfile {

enum class FlagKind { kString, kStrings, kBool };

struct FlagSpec {
  const char* name;
  FlagKind kind;
};

// The flags an instruction (lower-case name) accepts; empty for most.
const std::vector<FlagSpec>& allowed_flags(std::string_view cmd);

// One raw flag word ("--name=value", "--name"), already unquoted.
struct FlagWord {
  std::string text;
  size_t offset = 0;  // where errors about this flag point
};

// Parses flag words into `out` (name -> values). Throws FlagError naming the
// offending word's index for unknown/duplicate flags and bad values.
class FlagError : public Error {
 public:
  FlagError(size_t index, const std::string& message) : Error(message), index_(index) {}
  size_t index() const { return index_; }

 private:
  size_t index_;
};
void parse_flags(std::string_view cmd, const std::vector<FlagWord>& words,
                 std::map<std::string, std::vector<std::string>>& out);

// RUN --mount=... (BuildKit's commands_runmount.go).
struct Mount {
  std::string type = "bind";  // bind | cache | tmpfs | secret | ssh
  std::string target;
  std::string source;
  std::string from;
  bool readonly = true;  // defaults: bind/secret/ssh read-only, cache/tmpfs read-write
  std::string id;
  std::string sharing;  // cache only: shared (default) | private | locked
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint32_t> mode;    // octal in the source
  bool required = false;           // secret/ssh
  std::optional<int64_t> size;     // tmpfs, bytes
  std::optional<std::string> env;  // secret: expose as this env var
};
Mount parse_mount(std::string_view value);

// Whether BuildKit expands variables in this flag's value (mount, platform,
// COPY/ADD chmod, chown, from, checksum, exclude).
bool expanded_flag(std::string_view cmd, std::string_view name);

// The one mount check done before expansion: a mount's from= may not use
// variables ("'from' doesn't support variable expansion").
void check_mount_from(std::string_view value);

// Go time.ParseDuration ("1m30s", "500ms", "1.5h"), in nanoseconds.
int64_t parse_duration(std::string_view value);

// --chmod: octal permission bits ("755", "0644"), at most 07777.
uint32_t parse_chmod(std::string_view value);

// --chown: "user", "user:group", "uid:gid" (names or numbers, non-empty).
struct Chown {
  std::string user;
  std::optional<std::string> group;
};
Chown parse_chown(std::string_view value);

// --network: none | host | default. --security: insecure | sandbox.
void validate_network(std::string_view value);
void validate_security(std::string_view value);

// Validates one flag value by flag name for an instruction; no-op for flags
// without a structured value. Used by parse_flags.
void validate_flag_value(std::string_view cmd, std::string_view name, std::string_view value);

}  // namespace slipway::dockerfile
