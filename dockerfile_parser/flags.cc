#include "dockerfile_parser/flags.h"

#include <algorithm>
#include <limits>

namespace slipway::dockerfile {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::optional<uint64_t> parse_uint(std::string_view s, int base, uint64_t max) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : 99;
    if (d >= base) return std::nullopt;
    if (v > (max - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return v;
}

// Go's strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view s) {
  for (std::string_view t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (s == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "false", "FALSE", "False"}) {
    if (s == f) return false;
  }
  return std::nullopt;
}

// docker/go-units RAMInBytes: a number with an optional b/k/m/g/t/p suffix
// (optionally followed by "b" or "ib"), binary multiples.
std::optional<int64_t> parse_ram(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double num = 0;
  try {
    num = std::stod(std::string(s.substr(0, i)));
  } catch (...) {
    return std::nullopt;
  }
  std::string unit = lower(s.substr(i));
  if (!unit.empty() && unit.back() == 'b' && unit.size() > 1) unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();
  double mul = 1;
  if (unit.empty() || unit == "b") {
    mul = 1;
  } else if (unit == "k") {
    mul = 1024.0;
  } else if (unit == "m") {
    mul = 1024.0 * 1024;
  } else if (unit == "g") {
    mul = 1024.0 * 1024 * 1024;
  } else if (unit == "t") {
    mul = 1024.0 * 1024 * 1024 * 1024;
  } else if (unit == "p") {
    mul = 1024.0 * 1024 * 1024 * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  double v = num * mul;
  if (!(v < 9.2e18)) return std::nullopt;
  return static_cast<int64_t>(v);
}

// encoding/csv fields: a field starting with '"' is quoted ("" is a quote).
std::vector<std::string> csv_fields(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    std::string f;
    if (i < s.size() && s[i] == '"') {
      ++i;
      for (;;) {
        if (i >= s.size()) throw Error("invalid mount value: unterminated quote in \"" + std::string(s) + "\"");
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            f += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        f += s[i++];
      }
      if (i < s.size() && s[i] != ',') {
        throw Error("invalid mount value: extraneous text after quoted field in \"" + std::string(s) + "\"");
      }
    } else {
      size_t e = s.find(',', i);
      if (e == std::string_view::npos) e = s.size();
      f = std::string(s.substr(i, e - i));
      i = e;
    }
    out.push_back(std::move(f));
    if (i >= s.size()) break;
    ++i;  // the comma
  }
  return out;
}

const std::vector<FlagSpec> kNone;
const std::vector<FlagSpec> kFrom = {{"platform", FlagKind::kString}};
const std::vector<FlagSpec> kRun = {
    {"mount", FlagKind::kStrings}, {"network", FlagKind::kString}, {"security", FlagKind::kString}};
const std::vector<FlagSpec> kCopy = {{"from", FlagKind::kString},  {"chown", FlagKind::kString},
                                     {"chmod", FlagKind::kString}, {"link", FlagKind::kBool},
                                     {"parents", FlagKind::kBool}, {"exclude", FlagKind::kStrings}};
const std::vector<FlagSpec> kAdd = {{"chown", FlagKind::kString},      {"chmod", FlagKind::kString},
                                    {"link", FlagKind::kBool},         {"checksum", FlagKind::kString},
                                    {"keep-git-dir", FlagKind::kBool}, {"exclude", FlagKind::kStrings},
                                    {"unpack", FlagKind::kBool}};
const std::vector<FlagSpec> kHealth = {{"interval", FlagKind::kString},
                                       {"timeout", FlagKind::kString},
                                       {"start-period", FlagKind::kString},
                                       {"start-interval", FlagKind::kString},
                                       {"retries", FlagKind::kString}};

// "from=" must name a stage literally: BuildKit rejects `\$.` in it.
void check_from_literal(std::string_view from) {
  size_t d = from.find('$');
  if (d != std::string_view::npos && d + 1 < from.size()) {
    throw Error("'from' doesn't support variable expansion, define alias stage instead");
  }
}

}  // namespace

bool expanded_flag(std::string_view cmd, std::string_view name) {
  if (cmd == "run") return name == "mount";
  if (cmd == "copy" || cmd == "add")
    return name == "chmod" || name == "chown" || name == "from" || name == "checksum" || name == "exclude";
  if (cmd == "from") return name == "platform";
  return false;
}

void check_mount_from(std::string_view value) {
  for (const std::string& field : csv_fields(value)) {
    size_t eq = field.find('=');
    if (eq != std::string::npos && lower(std::string_view(field).substr(0, eq)) == "from") {
      check_from_literal(std::string_view(field).substr(eq + 1));
    }
  }
}

const std::vector<FlagSpec>& allowed_flags(std::string_view cmd) {
  if (cmd == "from") return kFrom;
  if (cmd == "run") return kRun;
  if (cmd == "copy") return kCopy;
  if (cmd == "add") return kAdd;
  if (cmd == "healthcheck") return kHealth;
  return kNone;
}

void parse_flags(std::string_view cmd, const std::vector<FlagWord>& words,
                 std::map<std::string, std::vector<std::string>>& out) {
  const auto& specs = allowed_flags(cmd);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string_view w = words[i].text;
    if (w.substr(0, 2) != "--") throw FlagError(i, "flag should start with --: " + std::string(w));
    std::string_view body = w.substr(2);
    size_t eq = body.find('=');
    bool has_value = eq != std::string_view::npos;
    std::string name(body.substr(0, eq));
    std::string value = has_value ? std::string(body.substr(eq + 1)) : std::string();
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return name == s.name; });
    if (spec == specs.end()) throw FlagError(i, "unknown flag: --" + name);
    if (out.count(name) && spec->kind != FlagKind::kStrings) {
      throw FlagError(i, "duplicate flag specified: --" + name);
    }
    switch (spec->kind) {
      case FlagKind::kBool: {
        if (has_value && value.empty()) throw FlagError(i, "missing a value on flag: --" + name);
        std::string l = lower(value);
        if (l == "true" || l.empty()) {
          value = "true";
        } else if (l == "false") {
          value = "false";
        } else {
          throw FlagError(i, "expecting boolean value for flag --" + name + ", not: " + value);
        }
        break;
      }
      case FlagKind::kString:
      case FlagKind::kStrings:
        if (!has_value) throw FlagError(i, "missing a value on flag: --" + name);
        try {
          if (value.find('$') == std::string::npos || !expanded_flag(cmd, name)) {
            validate_flag_value(cmd, name, value);
          } else if (name == "mount") {
            check_mount_from(value);
          }
        } catch (const Error& e) {
          throw FlagError(i, "--" + name + ": " + e.message());
        }
        break;
    }
    out[name].push_back(value);
  }
}

void validate_flag_value(std::string_view cmd, std::string_view name, std::string_view value) {
  // BuildKit reads an empty --chmod=, --chown= or HEALTHCHECK value as unset.
  if (value.empty() && cmd != "run") return;
  if (cmd == "run") {
    if (name == "mount") (void)parse_mount(value);
    if (name == "network") validate_network(value);
    if (name == "security") validate_security(value);
  } else if (cmd == "copy" || cmd == "add") {
    if (name == "chmod") (void)parse_chmod(value);
    if (name == "chown") (void)parse_chown(value);
  } else if (cmd == "healthcheck") {
    if (name == "retries") {
      auto v = parse_uint(value, 10, std::numeric_limits<int32_t>::max());
      bool neg = value.size() > 1 && value[0] == '-' && parse_uint(value.substr(1), 10, 1u << 31);
      if (!v && !neg) throw Error("invalid retries value \"" + std::string(value) + "\": expected an integer");
      if (neg) throw Error("--retries cannot be negative (" + std::string(value) + ")");
    } else {
      int64_t d = parse_duration(value);
      if (d != 0 && d < 1000000) {
        throw Error("interval \"" + std::string(name) + "\" cannot be less than 1ms");
      }
    }
  }
}

Mount parse_mount(std::string_view value) {
  Mount m;
  bool ro_auto = true;
  bool have_mode = false;
  auto bad = [](std::string_view key, std::string_view v) {
    return Error("invalid value for " + std::string(key) + ": " + std::string(v));
  };
  for (const std::string& field : csv_fields(value)) {
    size_t eq = field.find('=');
    std::string key = lower(std::string_view(field).substr(0, eq));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        m.readonly = true;
        ro_auto = false;
      } else if (key == "readwrite" || key == "rw") {
        m.readonly = false;
        ro_auto = false;
      } else if (key == "required") {
        if (m.type != "secret" && m.type != "ssh") {
          throw Error("unexpected key 'required' for mount type '" + m.type + "'");
        }
        m.required = true;
      } else {
        throw Error("invalid field '" + field + "' must be a key=value pair");
      }
      continue;
    }
    std::string v = field.substr(eq + 1);
    if (key == "type") {
      std::string t = lower(v);
      if (t != "bind" && t != "cache" && t != "tmpfs" && t != "secret" && t != "ssh") {
        throw Error("unsupported mount type \"" + v + "\": expected bind, cache, tmpfs, secret or ssh");
      }
      m.type = t;
    } else if (key == "from") {
      check_from_literal(v);
      m.from = v;
    } else if (key == "source" || key == "src") {
      m.source = v;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = v;
    } else if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
      auto b = parse_go_bool(v);
      if (!b) throw bad(key, v);
      m.readonly = (key == "readonly" || key == "ro") ? *b : !*b;
      ro_auto = false;
    } else if (key == "required") {
      if (m.type != "secret" && m.type != "ssh") {
        throw Error("unexpected key 'required' for mount type '" + m.type + "'");
      }
      auto b = parse_go_bool(v);
      if (!b) throw bad(key, v);
      m.required = *b;
    } else if (key == "size") {
      if (m.type != "tmpfs") throw Error("unexpected key 'size' for mount type '" + m.type + "'");
      auto sz = parse_ram(v);
      if (!sz) throw bad(key, v);
      m.size = *sz;
    } else if (key == "id") {
      m.id = v;
    } else if (key == "sharing") {
      std::string s = lower(v);
      if (!s.empty() && s != "shared" && s != "private" && s != "locked") {
        throw Error("unsupported sharing value \"" + v + "\": expected shared, private or locked");
      }
      m.sharing = s;
    } else if (key == "mode") {
      auto md = parse_uint(v, 8, 0xFFFFFFFFu);
      if (!md) throw Error("invalid value " + v + " for mode: expected octal");
      m.mode = static_cast<uint32_t>(*md);
      have_mode = true;
    } else if (key == "uid" || key == "gid") {
      auto id = parse_uint(v, 10, 0xFFFFFFFFu);
      if (!id) throw Error("invalid value " + v + " for " + key + ": expected a number");
      (key == "uid" ? m.uid : m.gid) = static_cast<uint32_t>(*id);
    } else if (key == "env") {
      m.env = v;
    } else {
      throw Error("unexpected key '" + key + "' in '" + field + "'");
    }
  }
  bool file_info = m.type == "secret" || m.type == "ssh" || m.type == "cache";
  if (!file_info) {
    if (have_mode) throw Error("mode not allowed for \"" + m.type + "\" type mounts");
    if (m.uid) throw Error("uid not allowed for \"" + m.type + "\" type mounts");
    if (m.gid) throw Error("gid not allowed for \"" + m.type + "\" type mounts");
  }
  if (ro_auto) m.readonly = !(m.type == "cache" || m.type == "tmpfs");
  if (!m.sharing.empty() && m.type != "cache") throw Error("invalid cache sharing set for " + m.type + " mount");
  if ((m.type == "secret" || m.type == "ssh") && !m.from.empty()) {
    throw Error(m.type + " mounts currently don't support from");
  }
  // BuildKit's dispatchSecret derives the secret id from id, source or target.
  if (m.type == "secret" && m.id.empty() && m.source.empty() && m.target.empty()) {
    throw Error("secret mount requires one of id, source or target");
  }
  if (m.type == "cache" && m.sharing.empty()) m.sharing = "shared";
  if (m.target.empty() && m.type != "secret" && m.type != "ssh") {
    throw Error("mount type " + m.type + " requires a target (target=PATH)");
  }
  return m;
}

int64_t parse_duration(std::string_view s) {
  const std::string orig(s);
  auto bad = [&] { return Error("invalid duration \"" + orig + "\": expected e.g. 30s, 1m30s, 500ms"); };
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) throw bad();
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) throw bad();
    size_t u = i;
    while (u < s.size() && !((s[u] >= '0' && s[u] <= '9') || s[u] == '.')) ++u;
    std::string_view unit = s.substr(i, u - i);
    long double mul = 0;
    if (unit == "ns") {
      mul = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      mul = 1e3L;
    } else if (unit == "ms") {
      mul = 1e6L;
    } else if (unit == "s") {
      mul = 1e9L;
    } else if (unit == "m") {
      mul = 60e9L;
    } else if (unit == "h") {
      mul = 3600e9L;
    } else {
      throw bad();
    }
    total += v * mul;
    if (total > 9.2e18L) throw bad();
    s.remove_prefix(u);
  }
  auto ns = static_cast<int64_t>(total);
  return neg ? -ns : ns;
}

uint32_t parse_chmod(std::string_view value) {
  auto v = value.size() <= 5 ? parse_uint(value, 8, 07777) : std::nullopt;
  if (!v) throw Error("invalid chmod \"" + std::string(value) + "\": expected octal permission bits such as 755");
  return static_cast<uint32_t>(*v);
}

Chown parse_chown(std::string_view value) {
  auto bad = [&] {
    return Error("invalid chown \"" + std::string(value) + "\": expected USER, USER:GROUP, UID or UID:GID");
  };
  Chown c;
  size_t colon = value.find(':');
  std::string_view user = value.substr(0, colon);
  if (user.empty()) throw bad();
  c.user = std::string(user);
  if (colon != std::string_view::npos) {
    std::string_view group = value.substr(colon + 1);
    if (group.empty() || group.find(':') != std::string_view::npos) throw bad();
    c.group = std::string(group);
  }
  return c;
}

void validate_network(std::string_view value) {
  if (value != "none" && value != "host" && value != "default") {
    throw Error("unsupported network mode \"" + std::string(value) + "\": expected none, host or default");
  }
}

void validate_security(std::string_view value) {
  if (value != "insecure" && value != "sandbox") {
    throw Error("unsupported security mode \"" + std::string(value) + "\": expected insecure or sandbox");
  }
}

}  // namespace slipway::dockerfile
