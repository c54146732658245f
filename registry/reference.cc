#include "registry/reference.h"

#include <algorithm>

#include "common/digest.h"
#include "common/error.h"

namespace slipway::registry {
namespace {

constexpr std::string_view kDefaultRegistry = "docker.io";
constexpr std::string_view kLegacyRegistry = "index.docker.io";
constexpr std::string_view kOfficialPrefix = "library/";
constexpr std::string_view kDefaultTag = "latest";
// distribution limits the repository path, not host + path: a registry with a
// long host name can still hold any name Docker Hub can.
constexpr size_t kMaxRepositoryLength = 255;
constexpr size_t kMaxTagLength = 128;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool has_upper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// path-component := [a-z0-9]+ ( ("." | "_" | "__" | "-"+) [a-z0-9]+ )*
bool is_path_component(std::string_view s) {
  size_t i = 0;
  auto run = [&] {
    size_t start = i;
    while (i < s.size() && is_lower_alnum(s[i])) ++i;
    return i > start;
  };
  if (!run()) return false;
  while (i < s.size()) {
    char c = s[i];
    if (c == '.') {
      ++i;
    } else if (c == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (c == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!run()) return false;
  }
  return true;
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool is_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

bool is_port(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Docker's familiar-name ambiguity: a bare 64-hex string is an image ID, never
// a repository.
bool is_identifier(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

Error ref_error(std::string_view input, const std::string& why) {
  return Error("invalid reference " + quoted(input) + ": " + why);
}

}  // namespace

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength || !is_word(tag[0])) return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) { return is_word(c) || c == '.' || c == '-'; });
}

bool is_valid_repository_path(std::string_view path) {
  if (path.empty() || path.size() > kMaxRepositoryLength) return false;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    if (!is_path_component(path.substr(start, slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// host [":" port], host := domain-name | "[" [a-fA-F0-9:]+ "]"
bool is_valid_registry_host(std::string_view host) {
  std::string_view rest;
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view v6 = host.substr(1, close - 1);
    if (!std::all_of(v6.begin(), v6.end(), [](char c) { return is_hex(c) || c == ':'; })) return false;
    rest = host.substr(close + 1);
  } else {
    size_t colon = host.find(':');
    std::string_view name = host.substr(0, colon);
    size_t start = 0;
    while (true) {
      size_t dot = name.find('.', start);
      if (!is_domain_component(name.substr(start, dot - start))) return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    rest = colon == std::string_view::npos ? std::string_view() : host.substr(colon);
  }
  return rest.empty() || (rest[0] == ':' && is_port(rest.substr(1)));
}

Reference Reference::parse(std::string_view text) {
  if (text.empty()) throw ref_error(text, "repository name must have at least one component");
  if (is_identifier(text)) {
    throw ref_error(text, "a 64-character hexadecimal string is an image ID, not a repository name");
  }

  Reference ref;
  std::string_view rest = text;
  // '@' cannot occur in a name or tag, so the first one starts the digest.
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view dig = rest.substr(at + 1);
    try {
      ref.digest = Digest::parse(dig).str();
    } catch (const Error& e) {
      throw ref_error(text, "invalid digest: " + e.message());
    }
    rest = rest.substr(0, at);
  }
  // A ':' followed by a '/' separates a registry port, not a tag.
  if (size_t colon = rest.rfind(':');
      colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
    std::string_view tag = rest.substr(colon + 1);
    if (!is_valid_tag(tag)) {
      throw ref_error(text, "invalid tag " + quoted(tag) +
                                " (want 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-')");
    }
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) throw ref_error(text, "repository name must have at least one component");

  std::string_view path = rest;
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    // Docker's rule: the first component is a registry if it looks like a host
    // (has '.' or ':' or is localhost). Upper case is never valid in a path,
    // so distribution takes an upper-case first component as a host too.
    if (first == "localhost" || first.find_first_of(".:") != std::string_view::npos || has_upper(first)) {
      ref.registry = std::string(first);
      path = rest.substr(slash + 1);
    }
  }
  if (ref.registry.empty() || ref.registry == kLegacyRegistry) ref.registry = std::string(kDefaultRegistry);
  if (!is_valid_registry_host(ref.registry)) {
    throw ref_error(text, "invalid registry host " + quoted(ref.registry));
  }
  ref.repository = std::string(path);
  if (ref.registry == kDefaultRegistry && path.find('/') == std::string_view::npos) {
    ref.repository = std::string(kOfficialPrefix) + ref.repository;
  }
  if (has_upper(path)) throw ref_error(text, "repository name must be lowercase");
  if (ref.repository.size() > kMaxRepositoryLength) {
    throw ref_error(text, "repository name must not be more than " + std::to_string(kMaxRepositoryLength) +
                              " characters");
  }
  if (!is_valid_repository_path(ref.repository)) {
    throw ref_error(text, "invalid repository name " + quoted(path) +
                              " (components of [a-z0-9] joined by '.', '_', '__' or '-', separated by '/')");
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = std::string(kDefaultTag);
  return ref;
}

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::familiar() const {
  std::string s;
  if (registry == kDefaultRegistry) {
    std::string_view repo = repository;
    // "library/foo/bar" stays as is: only one-component official names are short.
    if (repo.starts_with(kOfficialPrefix) && repo.find('/', kOfficialPrefix.size()) == std::string_view::npos) {
      repo.remove_prefix(kOfficialPrefix.size());
    }
    s = std::string(repo);
  } else {
    s = name();
  }
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Reference Reference::with_tag(std::string_view new_tag) const {
  if (!is_valid_tag(new_tag)) throw Error("invalid tag " + quoted(new_tag) + " for " + quoted(name()));
  Reference r = *this;
  r.tag = std::string(new_tag);
  return r;
}

Reference Reference::with_digest(std::string_view new_digest) const {
  Reference r = *this;
  try {
    r.digest = Digest::parse(new_digest).str();
  } catch (const Error& e) {
    throw e.with_context("cannot pin " + quoted(name()));
  }
  return r;
}

}  // namespace slipway::registry
