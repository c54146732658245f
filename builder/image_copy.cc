#include "builder/image_copy.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "builder/blob_relay.h"
#include "builder/copy_source.h"
#include "builder/fd_sink.h"
#include "builder/parallel.h"
#include "builder/progress.h"
#include "common/error.h"
#include "common/fd.h"
#include "layers/docker_archive.h"
#include "layers/oci_layout.h"

namespace slipway::copy {
namespace {

enum class BlobOutcome { kExisted, kMounted, kUploaded };

std::string short_digest(const Digest& d) { return d.algorithm + ":" + d.hex.substr(0, 12); }

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

class Destination {
 public:
  virtual ~Destination() = default;
  // One request before the parallel part, so the client learns the
  // registry's auth scheme once: with Basic auth, a request that went out
  // without credentials while another thread learned the scheme would get a
  // 401 the authenticator does not retry.
  virtual void warm_up(const Descriptor&) {}
  // Skips what the destination has; otherwise mounts or writes the blob.
  virtual BlobOutcome put_blob(CopySource& src, const Descriptor& d) = 0;
  // A manifest an index refers to (stored by digest).
  virtual void put_manifest(const RawManifest& m) = 0;
  // What DST names, after everything it refers to is in place.
  virtual void put_top(CopySource& src, const RawManifest& m) = 0;
};

class RegistryDest : public Destination {
 public:
  RegistryDest(const Location& dst, registry::RegistryOptions o, Staging& staging)
      : ref_(dst.ref), client_(ref_.registry, std::move(o)), staging_(staging) {}

  BlobOutcome put_blob(CopySource& src, const Descriptor& d) override {
    const std::string& repo = ref_.repository;
    if (warm_present_ && *warm_present_ == d.digest) return BlobOutcome::kExisted;
    // Same registry, other repository: the registry links the blob, no bytes move.
    std::vector<std::string> mount_from;
    if (src.registry_host() == ref_.registry && !src.repository().empty() && src.repository() != repo) {
      mount_from.push_back(src.repository());
    }
    registry::BlobPush how;
    if (src.can_fetch()) {
      // Ask before downloading: a relay should move only what is missing.
      if (client_.blob_size(repo, d.digest)) return BlobOutcome::kExisted;
      if (!mount_from.empty() && client_.mount_blob(repo, d.digest, mount_from[0])) return BlobOutcome::kMounted;
      how = relay_blob(client_, repo, d, staging_.scratch_file("relay-" + d.digest.hex),
                       [&](const registry::BodySink& sink) { src.fetch(d, sink); });
    } else {
      // push_blob asks (HEAD), mounts, or uploads: one question per blob.
      how = client_.push_blob(repo, registry::BlobSource::from_file(src.blob_file(d), d.digest,
                                                                     static_cast<uint64_t>(d.size)), mount_from);
    }
    if (how == registry::BlobPush::kMounted) return BlobOutcome::kMounted;
    return how == registry::BlobPush::kUploaded ? BlobOutcome::kUploaded : BlobOutcome::kExisted;
  }
  // Its answer is kept: the blob it asked about is not asked about again.
  // (Called before the parallel uploads start; read-only afterwards.)
  void warm_up(const Descriptor& d) override {
    if (client_.blob_size(ref_.repository, d.digest)) warm_present_ = d.digest;
  }
  void put_manifest(const RawManifest& m) override {
    client_.put_manifest(ref_.repository, m.digest.str(), m.media_type, m.bytes);
  }
  void put_top(CopySource&, const RawManifest& m) override {
    if (!ref_.digest.empty() && Digest::parse(ref_.digest) != m.digest) {
      throw Error("the destination names digest " + ref_.digest + " but the image's manifest is " + m.digest.str());
    }
    client_.put_manifest(ref_.repository, ref_.tag, m.media_type, m.bytes);
  }

 private:
  Reference ref_;
  registry::RegistryClient client_;
  Staging& staging_;
  std::optional<Digest> warm_present_;  // what warm_up found already there
};

class LayoutDest : public Destination {
 public:
  explicit LayoutDest(const Location& dst) : layout_(OciLayout::create(dst.path)), tag_(dst.tag) {}

  BlobOutcome put_blob(CopySource& src, const Descriptor& d) override {
    const ContentStore& st = layout_.store();
    if (st.size(d.digest) == std::optional<uint64_t>(static_cast<uint64_t>(d.size))) return BlobOutcome::kExisted;
    auto w = st.writer();
    src.stream_blob(d, w);
    w.commit(d.digest, static_cast<uint64_t>(d.size));
    return BlobOutcome::kUploaded;
  }
  void put_manifest(const RawManifest& m) override { layout_.store().put(m.bytes, m.digest); }
  void put_top(CopySource&, const RawManifest& m) override {
    put_manifest(m);
    Descriptor d;
    d.media_type = m.media_type;
    d.digest = m.digest;
    d.size = static_cast<int64_t>(m.bytes.size());
    layout_.tag(d, tag_);
  }

 private:
  OciLayout layout_;
  std::string tag_;
};

// The archive is written from the source's store once every blob is in it;
// layers are inflated on the way (docker load wants plain tars).
class ArchiveDest : public Destination {
 public:
  ArchiveDest(const Location& dst, const Location& src) : path_(dst.path) {
    if (dst.has_ref) tags_.push_back(dst.ref.familiar());
    else if (src.kind == Location::Kind::kRegistry && !src.ref.tag.empty()) tags_.push_back(src.ref.familiar());
  }

  BlobOutcome put_blob(CopySource& src, const Descriptor& d) override {
    src.blob_file(d);
    return BlobOutcome::kUploaded;
  }
  void put_manifest(const RawManifest&) override {
    throw Error("a docker-archive holds one image, not an index: drop --all");
  }
  void put_top(CopySource& src, const RawManifest& m) override {
    Manifest manifest = parse_manifest(m.bytes);
    std::string tmp = path_ + ".tmp";
    {
      UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      if (!fd) throw sys_error("creating " + tmp);
      build::FdSink sink(fd.get(), tmp);
      try {
        write_docker_archive(src.store(), manifest, tags_, sink);
        if (::fsync(fd.get()) != 0) throw sys_error("syncing " + tmp);
      } catch (...) {
        ::unlink(tmp.c_str());
        throw;
      }
    }
    if (::rename(tmp.c_str(), path_.c_str()) != 0) throw sys_error("renaming " + tmp + " to " + path_);
  }

 private:
  std::string path_;
  std::vector<std::string> tags_;
};

// Everything to copy: blobs once each, manifests children first.
struct Plan {
  std::vector<Descriptor> blobs;
  std::vector<RawManifest> manifests;
  std::set<Digest> seen;
};

// Layers that must not be redistributed (Windows base layers) stay where
// their URLs point, as skopeo leaves them.
bool non_distributable(const Descriptor& d) {
  return d.media_type.find("foreign") != std::string::npos ||
         d.media_type.find("nondistributable") != std::string::npos;
}

void add_image(Plan& plan, const RawManifest& m) {
  Manifest im = parse_manifest(m.bytes);
  std::vector<Descriptor> blobs = im.layers;
  blobs.push_back(im.config);
  for (const auto& d : blobs) {
    if (non_distributable(d)) continue;
    if (plan.seen.insert(d.digest).second) plan.blobs.push_back(d);
  }
  plan.manifests.push_back(m);
}

void add_index(Plan& plan, CopySource& src, const RawManifest& index, int depth) {
  if (depth > 4) throw Error("indexes nested more than 4 deep");
  for (const auto& child : parse_index(index.bytes).manifests) {
    RawManifest cm = src.manifest(child);
    if (is_index_media_type(cm.media_type)) add_index(plan, src, cm, depth + 1);
    else add_image(plan, cm);
  }
  plan.manifests.push_back(index);
}

std::unique_ptr<Destination> open_destination(const Location& dst, const Location& src, const CopyOptions& o,
                                              Staging& staging) {
  switch (dst.kind) {
    case Location::Kind::kRegistry: {
      return std::make_unique<RegistryDest>(dst, o.registry_options(dst.ref.registry, true), staging);
    }
    case Location::Kind::kOciLayout: return std::make_unique<LayoutDest>(dst);
    case Location::Kind::kDockerArchive: return std::make_unique<ArchiveDest>(dst, src);
  }
  throw Error("unknown destination kind");
}

void note(const CopyOptions& o, const std::string& line) {
  if (o.progress) o.progress(line);
}

CopyResult run(const Location& src, const Location& dst, const CopyOptions& o) {
  Staging staging(o.state_dir);
  auto source = open_source(src, o, staging);
  RawManifest top = source->top();
  Plan plan;
  if (is_index_media_type(top.media_type)) {
    if (o.all) {
      if (dst.kind == Location::Kind::kDockerArchive) {
        throw usage_error(src.text + " is an index and a docker-archive holds one image: drop --all");
      }
      add_index(plan, *source, top, 0);
    } else {
      Platform want = o.platform ? *o.platform : host_platform();
      const Index index = parse_index(top.bytes);
      const Descriptor pick = select_platform(index, want);
      top = source->manifest(pick);
      if (is_index_media_type(top.media_type)) throw Error(pick.digest.str() + " is a nested index");
      note(o, "picked " + (pick.platform ? pick.platform->str() : want.str()) + " " + short_digest(top.digest));
      add_image(plan, top);
    }
  } else {
    add_image(plan, top);
  }

  auto dest = open_destination(dst, src, o, staging);
  // Largest first, so the long transfers overlap instead of trailing.
  std::stable_sort(plan.blobs.begin(), plan.blobs.end(),
                   [](const Descriptor& a, const Descriptor& b) { return a.size > b.size; });
  CopyResult result;
  std::mutex mu;
  if (!plan.blobs.empty()) dest->warm_up(plan.blobs.front());
  build::parallel_for(plan.blobs.size(), o.parallel, [&](size_t i) {
    const Descriptor& d = plan.blobs[i];
    BlobOutcome how;
    try {
      how = dest->put_blob(*source, d);
    } catch (const Error& e) {
      throw e.with_context("blob " + d.digest.str());
    }
    const char* word = how == BlobOutcome::kExisted ? "exists" : how == BlobOutcome::kMounted ? "mounted" : "copied";
    {
      std::lock_guard lock(mu);
      if (how == BlobOutcome::kExisted) ++result.blobs_existed;
      if (how == BlobOutcome::kMounted) ++result.blobs_mounted;
      if (how == BlobOutcome::kUploaded) {
        ++result.blobs_uploaded;
        result.bytes_uploaded += static_cast<uint64_t>(d.size);
      }
    }
    note(o, "blob " + short_digest(d.digest) + " " + build::human_size(d.size) + " " + word);
  });
  for (size_t i = 0; i + 1 < plan.manifests.size(); ++i) {
    dest->put_manifest(plan.manifests[i]);
    note(o, "manifest " + short_digest(plan.manifests[i].digest) + " copied");
  }
  dest->put_top(*source, top);
  result.digest = top.digest;
  result.media_type = top.media_type;
  result.size = static_cast<int64_t>(top.bytes.size());
  result.manifests = static_cast<int>(plan.manifests.size());
  return result;
}

}  // namespace

Location Location::registry(Reference ref) {
  Location l;
  l.kind = Kind::kRegistry;
  l.text = ref.str();
  l.ref = std::move(ref);
  l.has_ref = true;
  return l;
}

Location Location::parse(const std::string& text) {
  Location l;
  l.text = text;
  if (starts_with(text, "oci:")) {
    l.kind = Kind::kOciLayout;
    std::string rest = text.substr(4);
    l.path = rest;
    // The tag follows the last colon, unless that colon is part of the path.
    auto colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
      l.path = rest.substr(0, colon);
      l.tag = rest.substr(colon + 1);
    }
    if (l.path.empty()) throw usage_error(text + ": oci: needs a directory");
    return l;
  }
  if (starts_with(text, "docker-archive:")) {
    l.kind = Kind::kDockerArchive;
    std::string rest = text.substr(15);
    auto colon = rest.find(':');
    l.path = rest.substr(0, colon);
    if (colon != std::string::npos) {
      l.ref = Reference::parse(rest.substr(colon + 1));
      l.has_ref = true;
    }
    if (l.path.empty()) throw usage_error(text + ": docker-archive: needs a file");
    return l;
  }
  std::string ref = starts_with(text, "docker://") ? text.substr(9) : text;
  for (const char* other : {"dir:", "oci-archive:", "docker-daemon:", "containers-storage:", "sif:", "tarball:"}) {
    if (starts_with(text, other)) {
      throw usage_error(text + ": the " + std::string(other) + " transport is not supported (use docker://, oci: or docker-archive:)");
    }
  }
  l.kind = Kind::kRegistry;
  l.ref = Reference::parse(ref);
  l.has_ref = true;
  return l;
}

CopyResult copy_image(const Location& src, const Location& dst, const CopyOptions& options) {
  try {
    return run(src, dst, options);
  } catch (const Error& e) {
    throw e.with_context("copying " + src.text + " to " + dst.text);
  }
}

}  // namespace slipway::copy
