// COPY and ADD: an explicit layer built from the sources (no diff), then
// applied to a fresh layer dir so later RUN steps see the files.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <memory>
#include <ctime>
#include <set>

#include "builder/context.h"
#include "builder/dockerignore.h"
#include "builder/fetch.h"
#include "builder/stage.h"
#include "builder/views.h"
#include "common/error.h"
#include "dockerfile_parser/expand.h"
#include "dockerfile_parser/flags.h"
#include "layers/diff.h"
#include "layers/unpack.h"

namespace slipway::build {

namespace {

struct Plan {
  std::map<std::string, TarEntry> entries;  // by archive path
  std::optional<uint32_t> uid, gid;         // --chown
  std::optional<uint32_t> chmod;            // --chmod
};

// The destination as a relative archive path ("" is the root).
std::string clean_dest(const std::string& workdir, const std::string& dest) {
  return absolute_path(workdir, dest).substr(1);
}

std::string base_name(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// `prefix` is "" for the step's main source tree (whose fd is the tar's
// source_dir_fd) or "/proc/self/fd/N/" for another tree held open by fd N.
TarEntry entry_for(const ContextEntry& e, const std::string& archive_path, const Plan& plan,
                   const std::string& prefix = "") {
  TarEntry t;
  t.path = archive_path;
  t.mode = e.st.st_mode & 07777;
  t.mtime = e.st.st_mtim.tv_sec;
  switch (e.type) {
    case EntryType::kDir: t.kind = TarKind::kDir; break;
    case EntryType::kSymlink:
      t.kind = TarKind::kSymlink;
      t.link_target = e.link_target;
      break;
    case EntryType::kFile:
      t.kind = TarKind::kFile;
      t.source = prefix + e.path;
      if (e.st.st_nlink > 1) t.link_id = static_cast<uint64_t>(e.st.st_ino) + 1;
      break;
    default:
      throw Error("cannot copy " + e.path + ": not a file, directory or symlink");
  }
  if (plan.chmod && t.kind != TarKind::kSymlink) t.mode = *plan.chmod;
  t.uid = plan.uid.value_or(0);
  t.gid = plan.gid.value_or(0);
  return t;
}

// File capabilities travel with a copied file, as with Docker's and
// BuildKit's COPY; no other xattr of the context's host does (SELinux
// labels, user.* metadata). Unreadable (e.g. host-root caps seen from a user
// namespace) means none.
void copy_capability(TarEntry& e, int source_dir_fd) {
  if (e.kind != TarKind::kFile || e.source.empty()) return;
  std::string path = e.source[0] == '/' ? e.source : "/proc/self/fd/" + std::to_string(source_dir_fd) + "/" + e.source;
  char buf[64];
  ssize_t n = lgetxattr(path.c_str(), "security.capability", buf, sizeof buf);
  if (n > 0) e.xattrs["security.capability"] = std::string(buf, static_cast<size_t>(n));
}

// One time for every --link parent of a build, so the same COPY --link gives
// the same layer in every stage of it.
const int64_t build_start = std::time(nullptr);

// One source (already expanded) into the plan.
void add_source(Plan& plan, const BuildContext& ctx, const std::string& src, const std::string& dest,
                bool dest_is_dir, bool parents, const IgnoreMatcher& exclude, const std::string& prefix = "") {
  auto matches = ctx.resolve_copy_source(src);
  for (const auto& m : matches) {
    if (m.path != "." && exclude.excluded(m.path, m.type == EntryType::kDir)) continue;
    std::string target;
    if (parents) {
      target = dest.empty() ? m.path : dest + "/" + m.path;
    } else if (m.type == EntryType::kDir) {
      target = dest;  // a directory's contents go into dest
    } else {
      target = dest_is_dir ? (dest.empty() ? base_name(m.path) : dest + "/" + base_name(m.path)) : dest;
    }
    if (m.path == ".") target = dest;
    if (m.type != EntryType::kDir || parents) {
      if (!target.empty()) plan.entries[target] = entry_for(m, target, plan, prefix);
    }
    if (m.type != EntryType::kDir) continue;
    if (!target.empty() && m.path != ".") {
      // The dest dir itself keeps existing metadata (a parent); only its
      // contents are copied, as Docker does.
      plan.entries.erase(target);
      if (parents) plan.entries[target] = entry_for(m, target, plan, prefix);
    }
    std::string under = m.path == "." ? "" : m.path + "/";
    for (const auto& child : ctx.below(m.path)) {
      std::string rel = child.path.substr(under.size());
      if (exclude.excluded(child.path, child.type == EntryType::kDir)) continue;
      std::string t = target.empty() ? rel : target + "/" + rel;
      plan.entries[t] = entry_for(child, t, plan, prefix);
    }
  }
}

// ADD unpacks local tar archives (plain, gzip, bzip2, xz, zstd), as Docker
// does; anything else is copied as a file.
bool is_archive(const BuildContext& ctx, const ContextEntry& e) {
  if (e.type != EntryType::kFile) return false;
  UniqueFd fd = ctx.open(e.path, O_RDONLY);
  unsigned char b[512] = {};
  ssize_t n = read(fd.get(), b, sizeof b);
  if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return true;                                      // gzip
  if (n >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h') return true;                          // bzip2
  if (n >= 6 && b[0] == 0xfd && b[1] == '7' && b[2] == 'z' && b[3] == 'X' && b[4] == 'Z') return true;  // xz
  if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) return true;       // zstd
  return n >= 262 && std::memcmp(b + 257, "ustar", 5) == 0;                                      // tar
}

// Extracts an archive into `dir` through the safe unpacker; bzip2 and xz are
// decompressed by libarchive first (the unpacker reads tar, gzip and zstd).
void extract_archive(const BuildContext& ctx, const ContextEntry& e, const std::string& dir) {
  UniqueFd fd = ctx.open(e.path, O_RDONLY);
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_fd(a.get(), fd.get(), 1 << 16) != ARCHIVE_OK) {
    throw Error("ADD " + e.path + ": " + archive_error_string(a.get()));
  }
  struct archive_entry* ae = nullptr;
  if (archive_read_next_header(a.get(), &ae) != ARCHIVE_OK) throw Error("ADD " + e.path + ": not an archive");
  layers::ReadFn reader = [&](void* buf, size_t size) -> size_t {
    la_ssize_t n = archive_read_data(a.get(), buf, size);
    if (n < 0) throw Error("ADD " + e.path + ": " + archive_error_string(a.get()));
    return static_cast<size_t>(n);
  };
  UniqueFd root(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw sys_error("open " + dir);
  layers::apply_layer(root.get(), reader);
}

std::string created_by_of(const dockerfile::Instruction& ins, const std::vector<std::string>& words,
                          const std::string& raw_dest) {
  std::string created_by = (ins.cmd == "add" ? "ADD" : "COPY");
  for (const auto& [k, v] : ins.flags) {
    for (const auto& x : v) created_by += " --" + k + "=" + x;
  }
  for (const auto& w : words) created_by += " " + w;
  return created_by + " " + raw_dest + " # buildkit";
}

}  // namespace

void copy_step(StageState& st, BuildEnv& env, const dockerfile::Instruction& ins,
               const std::map<std::string, const StageState*>& stages) {
  std::string loc = where(st, ins);
  try {
    if (ins.args.size() < 2) throw Error(ins.cmd + " requires at least two arguments");
    Plan plan;
    // An empty --chown= or --chmod= means unset, as in BuildKit.
    if (auto chown = ins.flag("chown"); chown && !chown->empty()) {
      auto [u, g] = resolve_chown(st.scope->expand_word(*chown), stage_reader(st));
      plan.uid = u;
      plan.gid = g;
    }
    if (auto chmod = ins.flag("chmod"); chmod && !chmod->empty()) plan.chmod = dockerfile::parse_chmod(*chmod);
    // --exclude takes .dockerignore patterns (** included).
    std::string exclude_text;
    if (auto it = ins.flags.find("exclude"); it != ins.flags.end()) {
      for (const auto& e : it->second) exclude_text += st.scope->expand_word(e) + "\n";
    }
    IgnoreMatcher exclude = IgnoreMatcher::parse(exclude_text, "--exclude");
    bool parents = ins.flag("parents").value_or("false") == "true";

    std::vector<std::string> words;
    for (const auto& a : ins.args) words.push_back(ins.json ? a : st.scope->expand_word(a));
    std::string raw_dest = words.back();
    words.pop_back();
    std::string dest = clean_dest(st.config.config.working_dir, raw_dest);
    bool dest_is_dir = words.size() > 1 || raw_dest.back() == '/' || raw_dest == "." ||
                       (raw_dest.size() > 1 && raw_dest.substr(raw_dest.size() - 2) == "/.");

    // Where sources come from: the context, or another stage or image.
    std::optional<BuildContext> other;
    const BuildContext* ctx = env.context;
    if (auto from = ins.flag("from")) {
      if (ins.cmd == "add") throw Error("ADD does not support --from; use COPY --from");
      other = BuildContext::load(mount_source_view(env, *from, stages), IgnoreMatcher());
      ctx = &*other;
    }
    if (!ctx) throw Error("no build context");
    std::list<TempDir> extracted_trees;       // ADD archives, extracted
    std::list<BuildContext> extracted_ctx;    // and walked; held open while the tar is written
    for (const auto& src : words) {
      const dockerfile::Heredoc* heredoc = nullptr;
      for (const auto& h : ins.heredocs) {
        if (src == "<<" + h.name || src == "<<-" + h.name) heredoc = &h;
      }
      if (heredoc) {
        TarEntry t;
        t.path = dest_is_dir ? (dest.empty() ? heredoc->name : dest + "/" + heredoc->name) : dest;
        t.mode = plan.chmod.value_or(0644);
        t.uid = plan.uid.value_or(0);
        t.gid = plan.gid.value_or(0);
        t.mtime = env.source_date_epoch.value_or(std::time(nullptr));
        dockerfile::ExpandOptions opt;
        opt.process_quotes = false;
        t.data = heredoc->expand ? dockerfile::expand(heredoc->content, st.scope->vars(), opt).word : heredoc->content;
        plan.entries[t.path] = std::move(t);
        continue;
      }
      if (ins.cmd == "add" && is_url(src)) {
        auto f = fetch_url(src, env.work_dir, ins.flag("checksum"));
        TarEntry t;
        t.path = dest_is_dir ? (dest.empty() ? f.filename : dest + "/" + f.filename) : dest;
        t.mode = plan.chmod.value_or(0600);  // Docker's mode for downloaded files
        t.uid = plan.uid.value_or(0);
        t.gid = plan.gid.value_or(0);
        t.mtime = f.mtime;
        t.source = f.path;
        plan.entries[t.path] = std::move(t);
        continue;
      }
      if (src.find("://") != std::string::npos) throw Error("unsupported source " + src);
      if (ins.cmd == "add" && ins.has_flag("checksum")) throw Error("ADD --checksum only applies to URLs");
      if (ins.cmd == "add" && ctx == env.context) {
        bool extracted = false;
        for (const auto& m : ctx->resolve_copy_source(src)) {
          if (!is_archive(*ctx, m)) continue;
          auto& tree = extracted_trees.emplace_back(env.work_dir, "add-");
          extract_archive(*ctx, m, tree.path());
          auto& tctx = extracted_ctx.emplace_back(BuildContext::load(tree.path(), IgnoreMatcher()));
          add_source(plan, tctx, ".", dest, true, false, IgnoreMatcher(),
                     "/proc/self/fd/" + std::to_string(tctx.root_fd()) + "/");
          extracted = true;
        }
        if (extracted) continue;
      }
      add_source(plan, *ctx, src, dest, dest_is_dir, parents, exclude);
    }

    // Parent directories: existing ones keep their metadata, new ones are
    // 0755 and owned by the --chown user. With --link the layer must not
    // depend on what it lands on (BuildKit copies onto scratch and stacks the
    // result): every parent is new, nothing of the stage is looked up, so a
    // symlink there is not followed and any base gives the same layer.
    bool link = ins.flag("link").value_or("false") == "true";
    auto fds = link ? std::vector<UniqueFd>{} : open_layer_dirs(st);
    std::vector<int> raw;
    for (const auto& f : fds) raw.push_back(f.get());
    std::set<std::string> parents_needed;
    for (const auto& [path, e] : plan.entries) {
      std::string p = path;
      for (auto s = p.rfind('/'); s != std::string::npos; s = p.rfind('/')) {
        p.resize(s);
        parents_needed.insert(p);
      }
    }
    if (!dest.empty() && dest_is_dir) parents_needed.insert(dest);
    for (const auto& p : parents_needed) {
      if (plan.entries.count(p)) continue;
      TarEntry d;
      d.path = p;
      d.kind = TarKind::kDir;
      if (auto hit = link ? std::nullopt : lookup_in_layers(raw, p)) {
        if (!S_ISDIR(hit->st.st_mode)) throw Error("cannot copy into /" + p + ": it exists and is not a directory");
        d.mode = hit->st.st_mode & 07777;
        d.uid = hit->st.st_uid;
        d.gid = hit->st.st_gid;
        d.mtime = hit->st.st_mtim.tv_sec;
        if (auto owner = layers::read_rootless_owner(hit->parent.get(), hit->name)) {
          d.uid = owner->first;
          d.gid = owner->second;
        }
      } else {
        d.mode = 0755;
        d.uid = plan.uid.value_or(0);
        d.gid = plan.gid.value_or(0);
        d.mtime = env.source_date_epoch.value_or(link ? build_start : std::time(nullptr));
      }
      plan.entries[p] = d;
    }

    for (auto& [p, e] : plan.entries) copy_capability(e, ctx->root_fd());
    std::vector<TarEntry> entries;
    for (auto& [p, e] : plan.entries) entries.push_back(std::move(e));
    TarOptions tar;
    tar.source_date_epoch = env.source_date_epoch;
    tar.source_dir_fd = ctx->root_fd();
    auto layer = write_layer(env.store, std::move(entries), tar, env.layer_options);
    // Later RUN steps see the files through a layer dir made from the blob.
    if (env.copy_mode) {
      apply_to_root(st, env, layer);
      if (env.single_snapshot) {
        record_step(st, env, created_by_of(ins, words, raw_dest), std::nullopt);
        return;
      }
    } else {
      std::string dir = env.new_layer_dir();
      layers::apply_layer(dir, env.store.blob_path(layer.descriptor.digest));
      st.layer_dirs.push_back(dir);
    }
    record_step(st, env, created_by_of(ins, words, raw_dest), layer);
  } catch (const Error& e) {
    throw e.with_context(loc + ": " + (ins.cmd == "add" ? std::string("ADD") : std::string("COPY")));
  }
}

}  // namespace slipway::build
