#include "builder/cache_key.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/error.h"

namespace slipway::build {

namespace {

nlohmann::json pairs_json(const std::vector<std::pair<std::string, std::string>>& pairs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [k, v] : pairs) out.push_back({k, v});
  return out;
}

// One field of a record: length-prefixed, so no pair of different field
// lists can hash alike whatever bytes the fields hold.
void field(Sha256& h, const std::string& s) {
  h.update(std::to_string(s.size()) + ":");
  h.update(s);
}

std::string file_digest(const BuildContext& ctx, const std::string& path) {
  UniqueFd fd = ctx.open(path, O_RDONLY);
  Sha256 h;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read " + path);
    }
    if (n == 0) break;
    h.update(buf, static_cast<size_t>(n));
  }
  return h.finish().hex;
}

void hash_entry(Sha256& h, const BuildContext& ctx, const ContextEntry& e,
                std::map<std::pair<dev_t, ino_t>, std::string>& links) {
  field(h, e.path);
  field(h, std::to_string(static_cast<int>(e.type)));
  field(h, std::to_string(e.st.st_mode & 07777));
  if (e.type == EntryType::kSymlink) field(h, e.link_target);
  if (e.type == EntryType::kFile) {
    // Hard links become tar hard links to the first path of their inode.
    std::string link_to;
    if (e.st.st_nlink > 1) {
      auto [it, fresh] = links.emplace(std::make_pair(e.st.st_dev, e.st.st_ino), e.path);
      if (!fresh) link_to = it->second;
    }
    field(h, link_to);
    field(h, link_to.empty() ? file_digest(ctx, e.path) : "");
  }
}

}  // namespace

std::string step_key(const StepKeyInput& in) {
  nlohmann::json flags = nlohmann::json::object();
  for (const auto& [k, v] : in.flags) flags[k] = v;
  nlohmann::json doc = {
      {"version", kCacheKeyVersion},
      {"parent", in.parent},
      {"platform", in.platform},
      {"instruction", in.instruction},
      {"words", in.words},
      {"flags", flags},
      {"json", in.json_form},
      {"heredocs", pairs_json(in.heredocs)},
      {"env", pairs_json(in.env)},
      {"user", in.user},
      {"workdir", in.workdir},
      {"shell", in.shell},
      {"inputs", in.inputs},
      {"layer_format", in.layer_format},
      {"source_date_epoch", in.source_date_epoch ? nlohmann::json(*in.source_date_epoch) : nlohmann::json()},
  };
  // nlohmann's object keeps keys sorted and dump() has no whitespace: the
  // text is canonical.
  return sha256_of(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)).hex;
}

std::string context_sources_digest(const BuildContext& ctx, const std::vector<std::string>& sources,
                                   const IgnoreMatcher& exclude) {
  Sha256 h;
  std::map<std::pair<dev_t, ino_t>, std::string> links;
  for (const auto& src : sources) {
    field(h, "source");
    field(h, src);
    for (const auto& m : ctx.resolve_copy_source(src)) {
      if (m.path != "." && exclude.excluded(m.path, m.type == EntryType::kDir)) continue;
      hash_entry(h, ctx, m, links);
      if (m.type != EntryType::kDir) continue;
      for (const auto& child : ctx.below(m.path)) {
        if (exclude.excluded(child.path, child.type == EntryType::kDir)) continue;
        hash_entry(h, ctx, child, links);
      }
    }
  }
  return h.finish().hex;
}

}  // namespace slipway::build
