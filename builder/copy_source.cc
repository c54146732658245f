#include "builder/copy_source.h"

#include <sys/stat.h>

#include <cerrno>

#include "builder/build.h"
#include "builder/interrupt.h"
#include "common/error.h"
#include "common/temp_dir.h"
#include "layers/docker_archive.h"
#include "layers/oci_layout.h"

namespace slipway::copy {
namespace {

void mkdir_p(const std::string& path, mode_t mode) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    std::string part = path.substr(0, i);
    if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) throw sys_error("creating " + part);
  }
}

// The manifest bytes' media type: the descriptor's when it names one, else
// the document's own field, else guessed from its shape.
RawManifest raw(std::string bytes, const std::string& descriptor_type) {
  RawManifest m;
  m.media_type = registry::detect_manifest_media_type(bytes, descriptor_type);
  m.digest = sha256_of(bytes);
  m.bytes = std::move(bytes);
  return m;
}

class RegistrySource : public CopySource {
 public:
  RegistrySource(const Location& src, const CopyOptions& o, Staging& staging)
      : ref_(src.ref), client_(ref_.registry, o.registry_options(ref_.registry, false)), staging_(staging) {}

  RawManifest top() override {
    auto m = client_.get_manifest(ref_.repository, ref_.manifest_ref());
    return {m.media_type, std::move(m.body), m.digest};
  }
  RawManifest manifest(const Descriptor& d) override {
    auto m = client_.get_manifest(ref_.repository, d.digest.str());
    return {m.media_type, std::move(m.body), m.digest};
  }
  std::string blob_file(const Descriptor& d) override {
    const ContentStore& st = staging_.store();
    if (st.size(d.digest) == std::optional<uint64_t>(static_cast<uint64_t>(d.size))) return st.blob_path(d.digest);
    auto w = st.writer();
    stream_blob(d, w);
    w.commit(d.digest, static_cast<uint64_t>(d.size));
    return st.blob_path(d.digest);
  }
  const ContentStore& store() override { return staging_.store(); }
  void stream_blob(const Descriptor& d, ContentStore::Writer& w) override {
    w.skip_hashing();  // get_blob verifies the digest and throws before commit
    fetch(d, [&w](const char* p, size_t n) { w.write(p, n); });
  }
  bool can_fetch() const override { return true; }
  void fetch(const Descriptor& d, const registry::BodySink& sink) override {
    client_.get_blob(ref_.repository, d.digest, sink, d.size);
  }
  std::string registry_host() const override { return ref_.registry; }
  std::string repository() const override { return ref_.repository; }

 private:
  Reference ref_;
  registry::RegistryClient client_;
  Staging& staging_;
};

class LayoutSource : public CopySource {
 public:
  explicit LayoutSource(const Location& src) : layout_(OciLayout::open(src.path)), tag_(src.tag) {}

  RawManifest top() override {
    Index idx = layout_.index();
    std::vector<Descriptor> matches;
    std::string tags;
    for (const auto& m : idx.manifests) {
      auto it = m.annotations.find(kAnnotationRefName);
      std::string name = it == m.annotations.end() ? "" : it->second;
      if (!name.empty()) tags += (tags.empty() ? "" : ", ") + name;
      if (tag_.empty() || name == tag_) matches.push_back(m);
    }
    if (tag_.empty() && matches.size() != 1) {
      throw Error(layout_.dir() + " holds " + std::to_string(matches.size()) + " images; name one as oci:" +
                  layout_.dir() + ":TAG" + (tags.empty() ? "" : " (tags: " + tags + ")"));
    }
    if (matches.empty()) {
      throw Error("tag \"" + tag_ + "\" not found in " + layout_.dir() + (tags.empty() ? "" : " (it has: " + tags + ")"));
    }
    return read(matches.back().digest, matches.back().size, matches.back().media_type);
  }
  RawManifest manifest(const Descriptor& d) override { return read(d.digest, d.size, d.media_type); }
  std::string blob_file(const Descriptor& d) override {
    if (!layout_.store().exists(d.digest)) throw Error("blob " + d.digest.str() + " is missing from " + layout_.dir());
    return layout_.store().blob_path(d.digest);
  }
  const ContentStore& store() override { return layout_.store(); }

 private:
  RawManifest read(const Digest& digest, int64_t size, const std::string& media_type) {
    if (!layout_.store().exists(digest)) throw Error("manifest " + digest.str() + " is missing from " + layout_.dir());
    std::string bytes = layout_.store().read_all(digest);
    if (static_cast<int64_t>(bytes.size()) != size) {
      throw Error("manifest " + digest.str() + " in " + layout_.dir() + " has " + std::to_string(bytes.size()) +
                  " bytes, its descriptor says " + std::to_string(size));
    }
    return raw(std::move(bytes), media_type);
  }
  OciLayout layout_;
  std::string tag_;
};

// A docker-archive has no manifest: its layers and config are stored and a
// manifest made for them (Docker v2s2, uncompressed layers as they are).
class ArchiveSource : public CopySource {
 public:
  ArchiveSource(const Location& src, Staging& staging) : store_(staging.scratch("archive")) {
    auto images = read_docker_archive(src.path, store_);
    if (images.empty()) throw Error(src.path + " holds no image");
    std::string all;
    for (const auto& img : images) {
      for (const auto& t : img.repo_tags) {
        all += (all.empty() ? "" : ", ") + t;
        if (src.has_ref && (t == src.ref.familiar() || t == src.ref.str()) && !image_) image_ = img;
      }
    }
    if (!src.has_ref && images.size() == 1) image_ = images[0];
    if (!image_) {
      throw Error(src.path + (src.has_ref ? " has no image " + src.ref.familiar()
                                          : " holds " + std::to_string(images.size()) + " images; name one") +
                  (all.empty() ? "" : " (it has: " + all + ")"));
    }
    manifest_ = raw(manifest_json(image_->manifest), image_->manifest.media_type);
  }

  RawManifest top() override { return manifest_; }
  RawManifest manifest(const Descriptor& d) override {
    throw Error("a docker-archive holds no index, yet " + d.digest.str() + " was asked for");
  }
  std::string blob_file(const Descriptor& d) override {
    if (!store_.exists(d.digest)) throw Error("blob " + d.digest.str() + " is missing from the archive");
    return store_.blob_path(d.digest);
  }
  const ContentStore& store() override { return store_; }

 private:
  ContentStore store_;
  std::optional<DockerArchiveImage> image_;
  RawManifest manifest_;
};

}  // namespace

Staging::~Staging() {
  if (tmp_) build::set_interrupt_cleanup_dir("");
}

const std::string& Staging::dir() {
  if (!tmp_) {
    if (state_dir_.empty()) state_dir_ = build::default_state_dir();
    mkdir_p(state_dir_ + "/tmp", 0700);
    tmp_.emplace(state_dir_ + "/tmp", "copy-");
    build::set_interrupt_cleanup_dir(tmp_->path());
  }
  return tmp_->path();
}

const ContentStore& Staging::store() {
  std::lock_guard lock(mu_);
  if (!store_) store_ = std::make_unique<ContentStore>(dir() + "/blobs");
  return *store_;
}

std::string Staging::scratch(const std::string& name) {
  std::lock_guard lock(mu_);
  std::string path = dir() + "/" + name;
  if (::mkdir(path.c_str(), 0700) != 0) throw sys_error("creating " + path);
  return path;
}

std::string Staging::scratch_file(const std::string& name) {
  std::lock_guard lock(mu_);
  return dir() + "/" + name;
}

void CopySource::fetch(const Descriptor& d, const registry::BodySink&) {
  throw Error("internal error: blob " + d.digest.str() + " cannot be fetched from a local source");
}

void CopySource::stream_blob(const Descriptor& d, ContentStore::Writer& w) {
  blob_file(d);  // says which blob is missing, where store() alone would not
  store().copy_to(d.digest, w);
}

std::unique_ptr<CopySource> open_source(const Location& src, const CopyOptions& options, Staging& staging) {
  switch (src.kind) {
    case Location::Kind::kRegistry: return std::make_unique<RegistrySource>(src, options, staging);
    case Location::Kind::kOciLayout: return std::make_unique<LayoutSource>(src);
    case Location::Kind::kDockerArchive: return std::make_unique<ArchiveSource>(src, staging);
  }
  throw Error("unknown source kind");
}

}  // namespace slipway::copy
