#include "layers/oci_layout.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/fd.h"

namespace slipway {
namespace {

constexpr const char* kLayoutMarker = R"({"imageLayoutVersion":"1.0.0"})";

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Writes via a temp file and rename(2) so readers never see half a file.
void write_atomic(const std::string& dir, const std::string& name, const std::string& data) {
  std::string temp = dir + "/." + name + ".tmp-" + std::to_string(::getpid());
  {
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw sys_error("creating " + temp);
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd.get(), p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::unlink(temp.c_str());
        throw sys_error("writing " + temp);
      }
      p += n;
      left -= size_t(n);
    }
    if (::fsync(fd.get()) != 0) throw sys_error("syncing " + temp);
  }
  std::string final_path = dir + "/" + name;
  if (::rename(temp.c_str(), final_path.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw sys_error("writing " + final_path);
  }
}

class DirLock {
 public:
  explicit DirLock(const std::string& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (!fd_) throw sys_error("opening " + dir);
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw sys_error("locking " + dir);
    }
  }  // closing the fd releases the lock

 private:
  UniqueFd fd_;
};

}  // namespace

OciLayout::OciLayout(std::string dir) : dir_(std::move(dir)), store_(dir_) {}

OciLayout OciLayout::create(const std::string& dir) {
  OciLayout l(dir);  // creates dir and blobs/sha256
  DirLock lock(l.dir_);
  if (!slurp(l.dir_ + "/oci-layout")) write_atomic(l.dir_, "oci-layout", kLayoutMarker);
  if (!slurp(l.dir_ + "/index.json")) write_atomic(l.dir_, "index.json", index_json(Index{}));
  return open(dir);
}

OciLayout OciLayout::open(const std::string& dir) {
  auto marker = slurp(dir + "/oci-layout");
  if (!marker) throw Error(dir + " is not an OCI image layout (no oci-layout file)");
  auto j = nlohmann::json::parse(*marker, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("imageLayoutVersion", "") != "1.0.0") {
    throw Error(dir + "/oci-layout: unsupported image layout version");
  }
  return OciLayout(dir);
}

Index OciLayout::index() const {
  auto text = slurp(dir_ + "/index.json");
  if (!text) throw Error(dir_ + " has no index.json");
  try {
    return parse_index(*text);
  } catch (const Error& e) {
    throw e.with_context(dir_ + "/index.json");
  }
}

void OciLayout::tag(const Descriptor& manifest, const std::string& tag) {
  DirLock lock(dir_);
  Index idx = index();
  Descriptor d = manifest;
  if (!tag.empty()) {
    d.annotations[kAnnotationRefName] = tag;
    std::erase_if(idx.manifests, [&](const Descriptor& m) {
      auto it = m.annotations.find(kAnnotationRefName);
      return it != m.annotations.end() && it->second == tag;
    });
  }
  idx.manifests.push_back(d);
  idx.media_type = media::kOciIndex;
  write_atomic(dir_, "index.json", index_json(idx));
}

Descriptor OciLayout::write_image(const ImageConfig& config, const std::vector<Descriptor>& layers,
                                  const std::string& tag, bool docker_types) {
  for (auto& l : layers) {
    if (store_.size(l.digest) != std::optional<uint64_t>(uint64_t(l.size))) {
      throw Error("layer " + l.digest.str() + " is not in " + dir_ + " (or has the wrong size)");
    }
  }
  std::string config_bytes = image_config_json(config);
  Manifest m;
  m.media_type = docker_types ? media::kDockerManifest : media::kOciManifest;
  m.config = describe_json(docker_types ? media::kDockerConfig : media::kOciConfig, config_bytes);
  m.layers = layers;
  store_.put(config_bytes, m.config.digest);
  std::string manifest_bytes = manifest_json(m);
  Descriptor md = describe_json(m.media_type, manifest_bytes);
  store_.put(manifest_bytes, md.digest);
  md.platform = normalize_platform(config.platform());
  this->tag(md, tag);
  return md;
}

OciLayout::Resolved OciLayout::resolve(const std::string& tag, const std::optional<Platform>& platform) const {
  Index idx = index();
  std::optional<Descriptor> found;
  std::vector<std::string> tags;
  for (auto& m : idx.manifests) {
    auto it = m.annotations.find(kAnnotationRefName);
    if (it != m.annotations.end()) tags.push_back(it->second);
    if (!tag.empty() && it != m.annotations.end() && it->second == tag) found = m;
  }
  if (tag.empty()) {
    if (idx.manifests.size() != 1) {
      throw Error(dir_ + " holds " + std::to_string(idx.manifests.size()) + " images; name one by tag");
    }
    found = idx.manifests.front();
  }
  if (!found) {
    std::string known;
    for (auto& t : tags) known += (known.empty() ? "" : ", ") + t;
    throw Error("tag \"" + tag + "\" not found in " + dir_ + (known.empty() ? "" : " (it has: " + known + ")"));
  }
  Platform want = platform ? *platform : host_platform();
  Descriptor d = *found;
  for (int depth = 0; depth < 8; ++depth) {
    std::string bytes = store_.read_all(d.digest);
    if (bytes.size() != uint64_t(d.size)) throw Error("blob " + d.digest.str() + " has the wrong size");
    std::string mt = d.media_type.empty() ? sniff_media_type(bytes) : d.media_type;
    if (is_index_media_type(mt)) {
      d = select_platform(parse_index(bytes), want);
      continue;
    }
    Resolved r;
    r.descriptor = d;
    r.manifest = parse_manifest(bytes);
    r.config_bytes = store_.read_all(r.manifest.config.digest);
    r.config = parse_image_config(r.config_bytes);
    if (platform && !r.config.os.empty() && !platform_matches(want, normalize_platform(r.config.platform()))) {
      throw Error("image " + d.digest.str() + " is for " + r.config.platform().str() + ", not " + want.str());
    }
    return r;
  }
  throw Error("indexes nested too deeply in " + dir_);
}

}  // namespace slipway
