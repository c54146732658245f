#pragma once
// Which variables a Dockerfile word sees, following BuildKit's dockerfile2llb
// (defaultArgs, buildMetaArgs, dispatchArg, dispatchEnv, dispatchState.init):
//
// - FROM lines (image and --platform) see the global scope: the automatic
//   platform args, then the ARGs before the first FROM in order (a default is
//   expanded with what precedes it), each replaced by its --build-arg value.
// - A stage sees only what it declares: a global ARG is invisible until
//   re-declared (`ARG NAME` takes the build-arg, else the global value,
//   platform args included); `ARG NAME=def` takes the build-arg, else `def`
//   expanded in the stage. An ARG left without a value is unset, not empty.
// - ARG values and ENV share one environment in declaration order: the later
//   assignment wins, for expansion and for RUN. This is BuildKit's behaviour
//   (both are AddEnv on the LLB state); Docker's legacy builder instead let
//   ENV win over any ARG. Only ENV goes into the image config.
// - FROM <earlier stage> continues that stage's state: its ENV, ARG values and
//   declared ARGs all carry over (BuildKit's dispatchState.init), then the
//   image ENV is applied again over them (see StageScope::inherit).
// - Proxy build args (HTTP_PROXY, HTTPS_PROXY, FTP_PROXY, NO_PROXY, ALL_PROXY,
//   any case) reach RUN even undeclared, in both cases, and are never part of
//   the declared args the builder writes into history.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/platform.h"
#include "dockerfile_parser/ast.h"
#include "dockerfile_parser/expand.h"

namespace slipway::dockerfile {

// An ordered environment: "K=V" entries as a list of pairs, each key once.
using EnvList = std::vector<std::pair<std::string, std::string>>;

// One ARG as the builder records it for history ("|N a=1 b=2 RUN ...").
struct ArgValue {
  std::string name;
  std::optional<std::string> value;  // nullopt: declared but unset
};

// True for the predefined proxy args, in any case ("http_proxy", "NO_PROXY").
bool is_proxy_arg(std::string_view name);

// A platform as BuildKit prints it in TARGETPLATFORM/BUILDPLATFORM:
// containerd's normalised form, where arm64 has no variant ("linux/arm64")
// and arm defaults to v7. The variant part is TARGETVARIANT.
Platform platform_arg_form(const Platform& p);

// Build args (--build-arg), the global ARGs and platform args. It also
// records which build args an ARG declared, for unused_build_args(); the
// StageScopes of a build point at it, so it must outlive them.
class GlobalScope {
 public:
  // Evaluates the global ARGs of `df` (df.args, df.escape; df.path for
  // errors). Throws slipway::Error "PATH:LINE:1: ..." when a default fails
  // to expand.
  GlobalScope(const Dockerfile& df, std::map<std::string, std::string> build_args, const Platform& build_platform,
              const Platform& target_platform);

  // The global value of `name` (FROM lines, and `ARG name` in a stage).
  std::optional<std::string> lookup(std::string_view name) const;
  // A VarLookup over this scope, valid while the scope lives.
  VarLookup vars() const;
  // Expands a FROM word (image name, --platform) with the global scope.
  Expansion expand(std::string_view raw) const;

  const EnvList& values() const { return values_; }
  const std::map<std::string, std::string>& build_args() const { return build_args_; }
  std::optional<std::string> build_arg(std::string_view name) const;
  char escape() const { return escape_; }

  // Proxy build args as RUN sees them: both "HTTP_PROXY=v" and "http_proxy=v"
  // for each proxy given in any case.
  EnvList proxy_env() const;

  // Build args no ARG declared (in order of name), except the proxy and
  // platform ones, which are predefined.
  std::vector<std::string> unused_build_args() const;
  // Docker's warning for them, "[Warning] One or more build-args [A B] were
  // not consumed", or "" when every build arg was used.
  std::string unused_build_args_warning() const;

  // Records that an ARG named `name` was declared somewhere.
  void mark_declared(const std::string& name) const { declared_.insert(name); }

 private:
  std::map<std::string, std::string> build_args_;
  EnvList values_;
  char escape_ = '\\';
  mutable std::set<std::string> declared_;
};

// The variables of one build stage while its instructions run in order.
class StageScope {
 public:
  // A stage FROM an image (or scratch), with the ENV of the image config
  // ("K=V" strings). PATH is added when the image has none, as BuildKit does:
  // it then appears in env() and in the built image.
  StageScope(const GlobalScope& global, const std::vector<std::string>& image_env);

  // The scope of a stage FROM this one. BuildKit starts it from this stage's
  // state (ENV and ARG values, declared ARGs) and then re-applies the image
  // ENV, so an ENV shadowed here by a later ARG is visible again there.
  StageScope inherit() const;

  // ARG from an instruction word as the parser keeps it: "name", "name=raw"
  // (quotes kept, e.g. `a="x y"`); the name ends at the first '='. Throws
  // slipway::Error for an empty name or a default that fails to expand.
  void declare_arg(std::string_view word);
  void declare_arg(const std::string& name, const std::optional<std::string>& raw_default);
  // ENV name=value, both already expanded by the caller. BuildKit expands
  // every pair of one ENV instruction before setting any, so in
  // `ENV a=1 b=$a` b gets the previous a: expand them all, then set_env.
  void set_env(const std::string& name, const std::string& value);

  // The variable as the stage's expansions see it (ENV and ARG values).
  std::optional<std::string> lookup(std::string_view name) const;
  VarLookup vars() const;
  Expansion expand(std::string_view raw) const;
  std::string expand_word(std::string_view raw) const;
  std::vector<std::string> expand_words(std::string_view raw) const;

  // What a RUN process gets: ENV and ARG values, then proxy build args not
  // already set.
  EnvList run_environment() const;
  // What goes in the image config: ENV only.
  const EnvList& env() const { return image_env_; }
  // Declared ARGs in order, with their values (for history), proxies excluded
  // unless declared.
  const std::vector<ArgValue>& args() const { return args_; }
  // BuildKit's history prefix for RUN (runCommandString): {"|N", "K=V", ...}
  // for the declared ARGs, each once, valued as the environment has it now
  // (an ENV may have replaced it), else "" when unset; empty without ARGs.
  // The builder joins it with the command words by spaces.
  std::vector<std::string> run_history_args() const;

 private:
  const GlobalScope* global_;
  EnvList state_env_;  // ENV and ARG values: what expansion and RUN see
  EnvList image_env_;  // ENV only
  std::vector<ArgValue> args_;
};

// "K=V" strings, as in an image config, to an EnvList (later keys win).
EnvList parse_env_strings(const std::vector<std::string>& env);
// And back.
std::vector<std::string> to_env_strings(const EnvList& env);

}  // namespace slipway::dockerfile
