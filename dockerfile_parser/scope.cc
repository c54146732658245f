#include "dockerfile_parser/scope.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "common/error.h"

namespace slipway::dockerfile {
namespace {

// BuildKit's system.DefaultPathEnv for Linux.
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

constexpr std::array<std::string_view, 5> kProxyArgs = {"http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
                                                        "all_proxy"};

constexpr std::array<std::string_view, 8> kPlatformArgs = {"BUILDPLATFORM",  "BUILDOS",  "BUILDARCH",
                                                           "BUILDVARIANT",   "TARGETPLATFORM", "TARGETOS",
                                                           "TARGETARCH",     "TARGETVARIANT"};

// BuildKit reads these as ARGs but never puts them in the environment.
bool is_non_env_arg(std::string_view name) {
  return name == "BUILDKIT_SBOM_SCAN_CONTEXT" || name == "BUILDKIT_SBOM_SCAN_STAGE";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// BuildKit's addEnv: replace in place, else append.
void set_in(EnvList& env, const std::string& key, const std::string& value) {
  for (auto& [k, v] : env) {
    if (k == key) {
      v = value;
      return;
    }
  }
  env.emplace_back(key, value);
}

std::optional<std::string> get_in(const EnvList& env, std::string_view key) {
  for (const auto& [k, v] : env) {
    if (k == key) return v;
  }
  return std::nullopt;
}

}  // namespace

bool is_proxy_arg(std::string_view name) {
  std::string l = lower(name);
  return std::find(kProxyArgs.begin(), kProxyArgs.end(), l) != kProxyArgs.end();
}

Platform platform_arg_form(const Platform& p) {
  Platform n = normalize_platform(p);
  // containerd's Normalize drops the default arm64 variant; common/platform
  // keeps "v8" (the manifest-list form), BuildKit's args do not.
  if (n.architecture == "arm64" && (n.variant == "v8" || n.variant == "8")) n.variant.clear();
  return n;
}

EnvList parse_env_strings(const std::vector<std::string>& env) {
  EnvList out;
  for (const auto& e : env) {
    auto eq = e.find('=');
    if (eq == std::string::npos) set_in(out, e, "");
    else set_in(out, e.substr(0, eq), e.substr(eq + 1));
  }
  return out;
}

std::vector<std::string> to_env_strings(const EnvList& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// ---- GlobalScope ---------------------------------------------------------

GlobalScope::GlobalScope(const Dockerfile& df, std::map<std::string, std::string> build_args,
                         const Platform& build_platform, const Platform& target_platform)
    : build_args_(std::move(build_args)), escape_(df.escape) {
  // BuildKit's defaultArgs: platform args first, each overridable.
  Platform bp = platform_arg_form(build_platform), tp = platform_arg_form(target_platform);
  const std::pair<const char*, std::string> defaults[] = {
      {"BUILDPLATFORM", bp.str()},  {"BUILDOS", bp.os},  {"BUILDARCH", bp.architecture},
      {"BUILDVARIANT", bp.variant}, {"TARGETPLATFORM", tp.str()}, {"TARGETOS", tp.os},
      {"TARGETARCH", tp.architecture}, {"TARGETVARIANT", tp.variant}};
  for (const auto& [k, v] : defaults) {
    auto over = build_args_.find(k);
    set_in(values_, k, over != build_args_.end() ? over->second : v);
  }
  // buildMetaArgs: in order, a build arg beats the default, which sees only
  // what was declared before it.
  for (const ArgDecl& a : df.args) {
    mark_declared(a.name);
    std::optional<std::string> value = build_arg(a.name);
    if (!value && a.default_value) {
      try {
        value = expand(*a.default_value).word;
      } catch (const Error& e) {
        throw Error(df.path + ":" + std::to_string(a.line) + ":1: " + e.message());
      }
    }
    if (value) set_in(values_, a.name, *value);
  }
}

std::optional<std::string> GlobalScope::lookup(std::string_view name) const { return get_in(values_, name); }

VarLookup GlobalScope::vars() const {
  return [this](std::string_view name) { return lookup(name); };
}

Expansion GlobalScope::expand(std::string_view raw) const {
  ExpandOptions opt;
  opt.escape = escape_;
  return dockerfile::expand(raw, vars(), opt);
}

std::optional<std::string> GlobalScope::build_arg(std::string_view name) const {
  auto it = build_args_.find(std::string(name));
  if (it == build_args_.end()) return std::nullopt;
  return it->second;
}

EnvList GlobalScope::proxy_env() const {
  EnvList out;
  for (std::string_view p : kProxyArgs) {
    // Prefer the exact upper- or lower-case name when several spellings are
    // given; BuildKit's choice among them depends on Go map order.
    std::optional<std::string> v = build_arg(upper(p));
    if (!v) v = build_arg(p);
    if (!v) {
      for (const auto& [k, val] : build_args_) {
        if (lower(k) == p) {
          v = val;
          break;
        }
      }
    }
    if (!v || v->empty()) continue;  // BuildKit sets a proxy only when non-empty
    out.emplace_back(upper(p), *v);
    out.emplace_back(std::string(p), *v);
  }
  return out;
}

std::vector<std::string> GlobalScope::unused_build_args() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : build_args_) {
    bool platform = std::find(kPlatformArgs.begin(), kPlatformArgs.end(), k) != kPlatformArgs.end();
    if (!platform && !is_proxy_arg(k) && declared_.count(k) == 0) out.push_back(k);
  }
  return out;
}

std::string GlobalScope::unused_build_args_warning() const {
  auto unused = unused_build_args();
  if (unused.empty()) return "";
  std::string list;
  for (const auto& u : unused) list += (list.empty() ? "" : " ") + u;
  return "[Warning] One or more build-args [" + list + "] were not consumed";
}

// ---- StageScope ----------------------------------------------------------

StageScope::StageScope(const GlobalScope& global, const std::vector<std::string>& image_env)
    : global_(&global), image_env_(parse_env_strings(image_env)) {
  if (!get_in(image_env_, "PATH")) image_env_.emplace_back("PATH", kDefaultPath);
  state_env_ = image_env_;
}

StageScope StageScope::inherit() const {
  StageScope child = *this;
  for (const auto& [k, v] : image_env_) set_in(child.state_env_, k, v);
  return child;
}

void StageScope::declare_arg(std::string_view word) {
  auto eq = word.find('=');
  std::string name(word.substr(0, eq));
  std::optional<std::string> raw;
  if (eq != std::string_view::npos) raw = std::string(word.substr(eq + 1));
  declare_arg(name, raw);
}

// BuildKit's dispatchArg.
void StageScope::declare_arg(const std::string& name, const std::optional<std::string>& raw_default) {
  if (name.empty()) throw Error("ARG names can not be blank");
  global_->mark_declared(name);
  std::optional<std::string> value = global_->build_arg(name);
  if (!value) {
    if (raw_default) value = expand(*raw_default).word;
    else value = global_->lookup(name);
  }
  if (value && !is_non_env_arg(name)) set_in(state_env_, name, *value);
  args_.push_back({name, value});
}

void StageScope::set_env(const std::string& name, const std::string& value) {
  set_in(state_env_, name, value);
  set_in(image_env_, name, value);
}

std::optional<std::string> StageScope::lookup(std::string_view name) const { return get_in(state_env_, name); }

VarLookup StageScope::vars() const {
  return [this](std::string_view name) { return lookup(name); };
}

Expansion StageScope::expand(std::string_view raw) const {
  ExpandOptions opt;
  opt.escape = global_->escape();
  return dockerfile::expand(raw, vars(), opt);
}

std::string StageScope::expand_word(std::string_view raw) const { return expand(raw).word; }

std::vector<std::string> StageScope::expand_words(std::string_view raw) const { return expand(raw).words; }

std::vector<std::string> StageScope::run_history_args() const {
  EnvList seen;
  for (const ArgValue& a : args_) {
    std::optional<std::string> v = lookup(a.name);
    set_in(seen, a.name, v ? *v : a.value.value_or(""));
  }
  if (seen.empty()) return {};
  std::vector<std::string> out{"|" + std::to_string(seen.size())};
  for (auto& kv : to_env_strings(seen)) out.push_back(std::move(kv));
  return out;
}

EnvList StageScope::run_environment() const {
  EnvList out = state_env_;
  for (const auto& [k, v] : global_->proxy_env()) {
    if (!get_in(out, k)) out.emplace_back(k, v);
  }
  return out;
}

}  // namespace slipway::dockerfile
