#include "common/oci.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_fields.h"

namespace slipway {

using json = nlohmann::json;
using namespace json_fields;

const char* const kSchema1Unsupported =
    "image manifest uses Docker schema 1, which is deprecated and unsupported; "
    "re-push the image with a current Docker or tool (schema 2 / OCI)";

namespace {

int schema_version(const json& j) {
  int v = int(int_or(j, "schemaVersion"));
  if (v == 1) throw Error(kSchema1Unsupported);
  if (v != 2) throw Error("unsupported schemaVersion " + std::to_string(v));
  return v;
}

}  // namespace

bool is_index_media_type(std::string_view mt) { return mt == media::kOciIndex || mt == media::kDockerManifestList; }
bool is_manifest_media_type(std::string_view mt) { return mt == media::kOciManifest || mt == media::kDockerManifest; }
bool is_schema1_media_type(std::string_view mt) {
  return mt == media::kDockerSchema1 || mt == media::kDockerSchema1Signed;
}

Descriptor parse_descriptor(const json& j) {
  if (!j.is_object()) throw Error("descriptor is not an object");
  Descriptor d;
  d.media_type = str_or(j, "mediaType");
  d.digest = Digest::parse(str_or(j, "digest"));
  // A missing size would read as 0 and fail only when the blob is fetched.
  if (!j.contains("size")) throw Error("descriptor " + d.digest.str() + " has no size");
  d.size = int_or(j, "size");
  if (d.size < 0) throw Error("descriptor " + d.digest.str() + " has a negative size");
  d.urls = strings(j, "urls");
  d.annotations = string_map(j, "annotations");
  d.artifact_type = str_or(j, "artifactType");
  if (auto it = j.find("platform"); it != j.end() && it->is_object()) {
    Platform p;
    p.os = str_or(*it, "os");
    p.architecture = str_or(*it, "architecture");
    p.variant = str_or(*it, "variant");
    p.os_version = str_or(*it, "os.version");
    d.platform = p;
  }
  return d;
}

json descriptor_json(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  put_if(j, "artifactType", d.artifact_type);
  if (d.platform) {
    json p = {{"os", d.platform->os}, {"architecture", d.platform->architecture}};
    put_if(p, "variant", d.platform->variant);
    put_if(p, "os.version", d.platform->os_version);
    j["platform"] = p;
  }
  return j;
}

Manifest parse_manifest(std::string_view text) {
  try {
    json j = parse_object(text, "manifest");
    Manifest m;
    m.schema_version = schema_version(j);
    m.media_type = str_or(j, "mediaType");
    if (m.media_type.empty()) m.media_type = media::kOciManifest;
    if (!is_manifest_media_type(m.media_type)) throw Error("media type " + m.media_type + " is not an image manifest");
    if (!j.contains("config")) throw Error("missing config");
    m.config = parse_descriptor(j.at("config"));
    if (auto it = j.find("layers"); it != j.end() && !it->is_null()) {
      if (!it->is_array()) throw Error("field \"layers\" is not an array");
      for (auto& l : *it) m.layers.push_back(parse_descriptor(l));
    }
    if (auto it = j.find("subject"); it != j.end() && !it->is_null()) m.subject = parse_descriptor(*it);
    m.annotations = string_map(j, "annotations");
    m.artifact_type = str_or(j, "artifactType");
    return m;
  } catch (const Error& e) {
    throw e.with_context("parsing image manifest");
  }
}

std::string manifest_json(const Manifest& m) {
  json j = {{"schemaVersion", m.schema_version}, {"mediaType", m.media_type}, {"config", descriptor_json(m.config)}};
  json layers = json::array();
  for (auto& l : m.layers) layers.push_back(descriptor_json(l));
  j["layers"] = layers;
  if (m.subject) j["subject"] = descriptor_json(*m.subject);
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  put_if(j, "artifactType", m.artifact_type);
  return j.dump();
}

Index parse_index(std::string_view text) {
  try {
    json j = parse_object(text, "index");
    Index i;
    i.schema_version = schema_version(j);
    i.media_type = str_or(j, "mediaType");
    if (i.media_type.empty()) i.media_type = media::kOciIndex;
    if (!is_index_media_type(i.media_type)) throw Error("media type " + i.media_type + " is not an image index");
    auto it = j.find("manifests");
    if (it == j.end() || !it->is_array()) throw Error("no manifests array");
    for (auto& d : *it) i.manifests.push_back(parse_descriptor(d));
    i.annotations = string_map(j, "annotations");
    return i;
  } catch (const Error& e) {
    throw e.with_context("parsing image index");
  }
}

std::string index_json(const Index& i) {
  json j = {{"schemaVersion", i.schema_version}};
  put_if(j, "mediaType", i.media_type);
  json ms = json::array();
  for (auto& d : i.manifests) ms.push_back(descriptor_json(d));
  j["manifests"] = ms;
  if (!i.annotations.empty()) j["annotations"] = i.annotations;
  return j.dump();
}

std::string sniff_media_type(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("malformed manifest JSON");
  return str_or(j, "mediaType");
}

const Descriptor& select_platform(const Index& index, const Platform& want) {
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

Descriptor describe_json(const std::string& media_type, const std::string& bytes) {
  Descriptor d;
  d.media_type = media_type;
  d.digest = sha256_of(bytes);
  d.size = int64_t(bytes.size());
  return d;
}

}  // namespace slipway
