#include "registry/manifest.h"

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace slipway::registry {

using nlohmann::json;

bool is_index_media_type(std::string_view mt) {
  return mt == media_type::kOciIndex || mt == media_type::kDockerManifestList;
}

bool is_manifest_media_type(std::string_view mt) {
  return mt == media_type::kOciManifest || mt == media_type::kDockerManifest;
}

std::string manifest_accept_header() {
  return std::string(media_type::kOciIndex) + ", " + media_type::kOciManifest + ", " +
         media_type::kDockerManifestList + ", " + media_type::kDockerManifest;
}

namespace {

std::map<std::string, std::string> annotations_from(const json& j) {
  std::map<std::string, std::string> out;
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (auto& [k, v] : j["annotations"].items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

json parse_json(std::string_view body, const char* what) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(std::string(what) + " is not a JSON object");
  return j;
}

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const char* kSchema1Message =
    "image manifest uses Docker schema 1, which is deprecated and unsupported; "
    "re-push the image with a current Docker or tool (schema 2 / OCI)";

}  // namespace

json descriptor_to_json(const Descriptor& d) {
  json j;
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
  if (d.platform) {
    json p;
    p["architecture"] = d.platform->architecture;
    p["os"] = d.platform->os;
    if (!d.platform->os_version.empty()) p["os.version"] = d.platform->os_version;
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = p;
  }
  return j;
}

Descriptor descriptor_from_json(const json& j) {
  if (!j.is_object()) throw Error("descriptor is not a JSON object");
  Descriptor d;
  d.media_type = string_field(j, "mediaType");
  d.digest = Digest::parse(string_field(j, "digest"));
  if (!j.contains("size") || !j["size"].is_number_integer() || j["size"].get<int64_t>() < 0) {
    throw Error("descriptor " + d.digest.str() + " has no valid size");
  }
  d.size = j["size"].get<int64_t>();
  if (j.contains("urls") && j["urls"].is_array()) {
    for (auto& u : j["urls"]) {
      if (u.is_string()) d.urls.push_back(u.get<std::string>());
    }
  }
  d.annotations = annotations_from(j);
  d.artifact_type = string_field(j, "artifactType");
  if (j.contains("platform") && j["platform"].is_object()) {
    const json& p = j["platform"];
    Platform pl;
    pl.os = string_field(p, "os");
    pl.architecture = string_field(p, "architecture");
    pl.variant = string_field(p, "variant");
    pl.os_version = string_field(p, "os.version");
    d.platform = pl;
  }
  return d;
}

std::string to_json(const ImageManifest& m) {
  json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = m.media_type;
  j["config"] = descriptor_to_json(m.config);
  j["layers"] = json::array();
  for (const auto& l : m.layers) j["layers"].push_back(descriptor_to_json(l));
  if (m.subject) j["subject"] = descriptor_to_json(*m.subject);
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j.dump();
}

std::string to_json(const ImageIndex& i) {
  json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = i.media_type;
  j["manifests"] = json::array();
  for (const auto& m : i.manifests) j["manifests"].push_back(descriptor_to_json(m));
  if (!i.annotations.empty()) j["annotations"] = i.annotations;
  return j.dump();
}

std::string detect_manifest_media_type(std::string_view body, std::string_view content_type) {
  std::string ct(content_type.substr(0, content_type.find(';')));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  if (ct == media_type::kDockerSchema1 || ct == media_type::kDockerSchema1Signed) throw Error(kSchema1Message);
  json j = parse_json(body, "manifest");
  if (j.contains("schemaVersion") && j["schemaVersion"] == 1) throw Error(kSchema1Message);
  if (is_index_media_type(ct) || is_manifest_media_type(ct)) return ct;
  std::string mt = string_field(j, "mediaType");
  if (mt == media_type::kDockerSchema1 || mt == media_type::kDockerSchema1Signed) throw Error(kSchema1Message);
  if (is_index_media_type(mt) || is_manifest_media_type(mt)) return mt;
  if (!mt.empty()) throw Error("unsupported manifest media type " + mt);
  // OCI allows mediaType to be absent: tell by shape.
  if (j.contains("manifests")) return media_type::kOciIndex;
  if (j.contains("config") && j.contains("layers")) return media_type::kOciManifest;
  throw Error("response is neither an image manifest nor an index");
}

ImageManifest parse_manifest(std::string_view body) {
  json j = parse_json(body, "manifest");
  if (j.contains("schemaVersion") && j["schemaVersion"] == 1) throw Error(kSchema1Message);
  ImageManifest m;
  m.media_type = string_field(j, "mediaType");
  if (m.media_type.empty()) m.media_type = media_type::kOciManifest;
  if (!is_manifest_media_type(m.media_type)) throw Error("not an image manifest: " + m.media_type);
  if (!j.contains("config")) throw Error("manifest has no config");
  m.config = descriptor_from_json(j["config"]);
  if (j.contains("layers")) {
    if (!j["layers"].is_array()) throw Error("manifest layers is not an array");
    for (const auto& l : j["layers"]) m.layers.push_back(descriptor_from_json(l));
  }
  if (j.contains("subject")) m.subject = descriptor_from_json(j["subject"]);
  m.annotations = annotations_from(j);
  return m;
}

ImageIndex parse_index(std::string_view body) {
  json j = parse_json(body, "index");
  ImageIndex i;
  i.media_type = string_field(j, "mediaType");
  if (i.media_type.empty()) i.media_type = media_type::kOciIndex;
  if (!is_index_media_type(i.media_type)) throw Error("not an image index: " + i.media_type);
  if (!j.contains("manifests") || !j["manifests"].is_array()) throw Error("index has no manifests array");
  for (const auto& m : j["manifests"]) i.manifests.push_back(descriptor_from_json(m));
  i.annotations = annotations_from(j);
  return i;
}

const Descriptor& select_platform(const ImageIndex& index, const Platform& want) {
  const Descriptor* loose = nullptr;
  Platform w = normalize_platform(want);
  for (const auto& d : index.manifests) {
    if (!d.platform) continue;
    Platform have = normalize_platform(*d.platform);
    if (!platform_matches(w, have)) continue;
    if (have.variant == w.variant) return d;
    if (!loose) loose = &d;
  }
  if (loose) return *loose;
  std::string available;
  for (const auto& d : index.manifests) {
    if (!d.platform) continue;
    // Attestation manifests (BuildKit) carry unknown/unknown; not images.
    if (d.platform->os == "unknown") continue;
    if (!available.empty()) available += ", ";
    available += d.platform->str();
  }
  throw Error("no image for platform " + want.str() + " in the index; available: " +
              (available.empty() ? "none" : available));
}

}  // namespace slipway::registry
