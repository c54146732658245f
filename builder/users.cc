#include "builder/users.h"

#include <charconv>
#include <sstream>

#include "common/error.h"

namespace slipway::build {

namespace {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

std::optional<uint32_t> parse_id(const std::string& s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

// Calls fn with the fields of each line of an /etc/passwd-style file that
// has at least `min_fields`; comments and short lines are skipped, as libc
// does: the files come from the image.
template <typename Fn>
void for_each_record(const RootFileReader& read, const std::string& rel, size_t min_fields, Fn&& fn) {
  auto text = read(rel);
  if (!text) return;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line, ':');
    if (f.size() >= min_fields) fn(f);
  }
}

std::vector<PasswdEntry> read_passwd(const RootFileReader& read) {
  std::vector<PasswdEntry> out;
  for_each_record(read, "etc/passwd", 7, [&](const std::vector<std::string>& f) {
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (uid && gid) out.push_back({f[0], *uid, *gid, f[5]});
  });
  return out;
}

std::vector<GroupEntry> read_group(const RootFileReader& read) {
  std::vector<GroupEntry> out;
  for_each_record(read, "etc/group", 3, [&](const std::vector<std::string>& f) {
    auto gid = parse_id(f[2]);
    if (!gid) return;
    GroupEntry g{f[0], *gid, {}};
    if (f.size() > 3 && !f[3].empty()) g.members = split(f[3], ',');
    out.push_back(std::move(g));
  });
  return out;
}

uint32_t resolve_group(const std::string& group, const std::vector<GroupEntry>& groups) {
  for (const auto& g : groups) {
    if (g.name == group) return g.gid;
  }
  if (auto id = parse_id(group)) return *id;
  throw Error("unable to find group " + group + ": no matching entries in group file");
}

}  // namespace

ResolvedUser resolve_user(const std::string& spec, const RootFileReader& read) {
  auto colon = spec.find(':');
  std::string user = spec.substr(0, colon);
  std::optional<std::string> group;
  if (colon != std::string::npos) group = spec.substr(colon + 1);
  if (user.empty()) throw Error("invalid user \"" + spec + "\"");
  auto passwd = read_passwd(read);
  ResolvedUser r;
  const PasswdEntry* found = nullptr;
  auto numeric = parse_id(user);
  for (const auto& p : passwd) {
    if ((numeric && p.uid == *numeric) || (!numeric && p.name == user)) {
      found = &p;
      break;
    }
  }
  if (!found && !numeric) throw Error("unable to find user " + user + ": no matching entries in passwd file");
  r.uid = found ? found->uid : *numeric;
  r.gid = found ? found->gid : 0;
  if (found && !found->home.empty()) r.home = found->home;
  auto groups = read_group(read);
  if (group && !group->empty()) {
    r.gid = resolve_group(*group, groups);
  } else if (found) {
    for (const auto& g : groups) {
      for (const auto& m : g.members) {
        if (m == found->name && g.gid != r.gid) r.groups.push_back(g.gid);
      }
    }
  }
  r.groups.insert(r.groups.begin(), r.gid);
  return r;
}

std::pair<uint32_t, uint32_t> resolve_chown(const std::string& spec, const RootFileReader& read) {
  auto colon = spec.find(':');
  std::string user = spec.substr(0, colon);
  std::optional<std::string> group;
  if (colon != std::string::npos) group = spec.substr(colon + 1);
  uint32_t uid = 0;
  std::optional<uint32_t> primary;
  if (auto id = parse_id(user)) {
    uid = *id;
  } else {
    bool found = false;
    for (const auto& p : read_passwd(read)) {
      if (p.name == user) {
        uid = p.uid;
        primary = p.gid;
        found = true;
        break;
      }
    }
    if (!found) throw Error("unable to find user " + user + ": no matching entries in passwd file");
  }
  if (group && !group->empty()) return {uid, resolve_group(*group, read_group(read))};
  return {uid, primary.value_or(uid)};
}

}  // namespace slipway::build
