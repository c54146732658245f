#include "layers/docker_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <exception>
#include <map>
#include <memory>
#include <set>

#include "common/error.h"
#include "layers/compress.h"

namespace slipway {

using json = nlohmann::json;

namespace {

struct ArchiveWriter {
  ByteSink* sink;
  std::exception_ptr error;
  archive* a = nullptr;

  explicit ArchiveWriter(ByteSink& out) : sink(&out), a(archive_write_new()) {
    if (!a) throw Error("docker-archive: out of memory");
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_none(a);
    if (archive_write_open2(a, this, nullptr, &ArchiveWriter::cb, nullptr, nullptr) != ARCHIVE_OK) fail("opening");
  }
  ~ArchiveWriter() { archive_write_free(a); }
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  static la_ssize_t cb(archive*, void* self, const void* buf, size_t n) {
    auto* w = static_cast<ArchiveWriter*>(self);
    try {  // never unwind through libarchive
      w->sink->write(buf, n);
      return la_ssize_t(n);
    } catch (...) {
      w->error = std::current_exception();
      return -1;
    }
  }

  [[noreturn]] void fail(const std::string& what) {
    if (error) std::rethrow_exception(error);
    const char* msg = archive_error_string(a);
    throw Error("docker-archive: " + what + ": " + (msg ? msg : "unknown error"));
  }

  void header(const std::string& path, bool dir, uint64_t size) {
    archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, path.c_str());
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0755 : 0644);
    archive_entry_set_size(e, dir ? 0 : la_int64_t(size));
    archive_entry_set_mtime(e, 0, 0);
    int rc = archive_write_header(a, e);
    archive_entry_free(e);
    if (rc < ARCHIVE_WARN) fail("writing " + path);
  }

  void data(const void* p, size_t n) {
    auto c = static_cast<const char*>(p);
    while (n > 0) {
      la_ssize_t w = archive_write_data(a, c, n);
      if (w <= 0) fail("writing data");
      c += w;
      n -= size_t(w);
    }
  }

  void file(const std::string& path, const std::string& bytes) {
    header(path, false, bytes.size());
    data(bytes.data(), bytes.size());
  }

  void close() {
    if (archive_write_close(a) != ARCHIVE_OK) fail("closing");
  }
};

class DataSink : public ByteSink {
 public:
  explicit DataSink(ArchiveWriter& w) : w_(w) {}
  void write(const void* data, size_t size) override { w_.data(data, size); }

 private:
  ArchiveWriter& w_;
};

class NullSink : public ByteSink {
 public:
  void write(const void*, size_t) override {}
};

// Streams the uncompressed form of a layer blob into `out`.
void inflate_layer(const ContentStore& store, const Descriptor& layer, ByteSink& out) {
  std::unique_ptr<Decompressor> d = make_decompressor(layer_compression(layer.media_type), out);
  store.copy_to(layer.digest, *d);
  d->finish();
}

std::pair<std::string, std::string> split_repo_tag(const std::string& ref) {
  auto colon = ref.rfind(':');
  auto slash = ref.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash) || colon + 1 == ref.size()) {
    throw Error("docker-archive: \"" + ref + "\" is not of the form name:tag");
  }
  return {ref.substr(0, colon), ref.substr(colon + 1)};
}

// Archive member names, normalised so "./a//b" and "a/b" meet.
std::string clean(const std::string& raw) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string::npos) end = raw.size();
    std::string c = raw.substr(start, end - start);
    if (c == "..") {
      if (parts.empty()) throw Error("docker-archive: path \"" + raw + "\" escapes the archive");
      parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    start = end + 1;
  }
  std::string out;
  for (auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

}  // namespace

void write_docker_archive(const ContentStore& store, const Manifest& manifest,
                          const std::vector<std::string>& repo_tags, ByteSink& out) {
  std::string config_bytes = store.read_all(manifest.config.digest);
  ImageConfig config = parse_image_config(config_bytes);
  if (config.diff_ids.size() != manifest.layers.size()) {
    throw Error("docker-archive: the config lists " + std::to_string(config.diff_ids.size()) +
                " diff_ids but the manifest has " + std::to_string(manifest.layers.size()) + " layers");
  }
  json repositories = json::object();
  for (auto& ref : repo_tags) {
    auto [name, tag] = split_repo_tag(ref);
    repositories[name][tag] = config.diff_ids.empty() ? "" : config.diff_ids.back().hex;
  }

  ArchiveWriter w(out);
  w.header("blobs", true, 0);
  w.header("blobs/sha256", true, 0);
  std::string config_path = "blobs/sha256/" + manifest.config.digest.hex;
  w.file(config_path, config_bytes);
  json layer_paths = json::array();
  std::set<std::string> written;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const Descriptor& layer = manifest.layers[i];
    const Digest& diff_id = config.diff_ids[i];
    std::string path = "blobs/sha256/" + diff_id.hex;
    layer_paths.push_back(path);
    if (!written.insert(path).second) continue;  // the same layer twice: one file
    // The tar header needs the size first: inflate once to count (and to
    // check the diffID), then again to write. Memory stays constant.
    NullSink null;
    DigestingSink counter(null);
    inflate_layer(store, layer, counter);
    Digest got = counter.finish();
    if (!(got == diff_id)) {
      throw Error("docker-archive: layer " + layer.digest.str() + " uncompresses to " + got.str() +
                  ", but the config says " + diff_id.str());
    }
    w.header(path, false, counter.size());
    DataSink sink(w);
    inflate_layer(store, layer, sink);
  }
  json entry = {{"Config", config_path}, {"RepoTags", repo_tags}, {"Layers", layer_paths}};
  w.file("manifest.json", json::array({entry}).dump());
  w.file("repositories", repositories.dump());
  w.close();
}

std::vector<DockerArchiveImage> read_docker_archive(const std::string& path, const ContentStore& store) {
  struct Stored {
    Digest digest;
    uint64_t size;
  };
  std::map<std::string, Stored> files;
  std::map<std::string, std::string> links;  // symlink or hardlink -> target (archive path)
  std::set<Digest> created;                   // blobs this call added to the store

  archive* a = archive_read_new();
  std::unique_ptr<archive, int (*)(archive*)> guard(a, archive_read_free);
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  if (archive_read_open_filename(a, path.c_str(), 128 * 1024) != ARCHIVE_OK) {
    throw Error("docker-archive: opening " + path + ": " + archive_error_string(a));
  }
  std::vector<char> buf(128 * 1024);
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    std::string name = clean(archive_entry_pathname(e));
    if (const char* hl = archive_entry_hardlink(e)) {
      links[name] = clean(hl);
      continue;
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
      auto slash = name.rfind('/');
      std::string dir = slash == std::string::npos ? "" : name.substr(0, slash + 1);
      std::string target = archive_entry_symlink(e);
      links[name] = clean(target.starts_with("/") ? target : dir + target);
      continue;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    ContentStore::Writer w = store.writer();
    la_ssize_t n;
    while ((n = archive_read_data(a, buf.data(), buf.size())) > 0) w.write(buf.data(), size_t(n));
    if (n < 0) throw Error("docker-archive: reading " + name + ": " + archive_error_string(a));
    uint64_t size = w.written();
    Digest d = w.commit();
    files[name] = {d, size};
    if (!w.already_existed()) created.insert(d);
  }
  if (rc != ARCHIVE_EOF) throw Error("docker-archive: reading " + path + ": " + archive_error_string(a));

  auto lookup = [&](const std::string& raw) -> Stored {
    std::string p = clean(raw);
    for (int hops = 0; hops < 16; ++hops) {
      if (auto it = files.find(p); it != files.end()) return it->second;
      auto l = links.find(p);
      if (l == links.end()) break;
      p = l->second;
    }
    throw Error("docker-archive: " + path + " has no file \"" + raw + "\"");
  };

  json manifest = json::parse(store.read_all(lookup("manifest.json").digest), nullptr, false);
  if (manifest.is_discarded() || !manifest.is_array() || manifest.empty()) {
    throw Error("docker-archive: " + path + ": manifest.json is not a non-empty array");
  }
  std::vector<DockerArchiveImage> images;
  std::set<Digest> referenced;
  for (auto& m : manifest) {
    if (!m.is_object() || !m.contains("Config") || !m["Config"].is_string() || !m.contains("Layers") ||
        !m["Layers"].is_array()) {
      throw Error("docker-archive: " + path + ": malformed manifest.json entry");
    }
    DockerArchiveImage img;
    Stored cfg = lookup(m["Config"].get<std::string>());
    std::string config_bytes = store.read_all(cfg.digest);
    img.config = parse_image_config(config_bytes);
    referenced.insert(cfg.digest);
    if (img.config.diff_ids.size() != m["Layers"].size()) {
      throw Error("docker-archive: " + path + ": config and manifest.json disagree on the number of layers");
    }
    bool zstd = false;
    for (size_t i = 0; i < m["Layers"].size(); ++i) {
      if (!m["Layers"][i].is_string()) throw Error("docker-archive: malformed Layers entry");
      Stored l = lookup(m["Layers"][i].get<std::string>());
      referenced.insert(l.digest);
      char head[4] = {};
      auto r = store.open(l.digest, false);
      size_t got = r.read(head, sizeof head);
      Compression c = detect_compression(head, got);
      if (c == Compression::kNone && !(l.digest == img.config.diff_ids[i])) {
        throw Error("docker-archive: layer " + m["Layers"][i].get<std::string>() + " has digest " + l.digest.str() +
                    ", but the config says " + img.config.diff_ids[i].str());
      }
      zstd = zstd || c == Compression::kZstd;
      img.manifest.layers.push_back(
          Descriptor{layer_media_type(c, true), l.digest, int64_t(l.size), std::nullopt, {}, {}, ""});
    }
    // Docker v2s2 has no zstd layer type; such an image can only be OCI.
    img.manifest.media_type = zstd ? media::kOciManifest : media::kDockerManifest;
    img.manifest.config =
        Descriptor{zstd ? media::kOciConfig : media::kDockerConfig, cfg.digest, int64_t(cfg.size), std::nullopt, {}, {}, ""};
    if (zstd) {
      for (auto& l : img.manifest.layers) l.media_type = layer_media_type(layer_compression(l.media_type), false);
    }
    if (auto t = m.find("RepoTags"); t != m.end() && t->is_array()) {
      for (auto& s : *t) {
        if (s.is_string()) img.repo_tags.push_back(s.get<std::string>());
      }
    }
    images.push_back(std::move(img));
  }
  for (auto& d : created) {
    if (!referenced.count(d)) store.remove(d);  // manifest.json, repositories, legacy json files
  }
  return images;
}

}  // namespace slipway
