#include "registry/manifest.h"

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace slipway::registry {

using nlohmann::json;

std::string manifest_accept_header() {
  return std::string(media::kOciIndex) + ", " + media::kOciManifest + ", " +
         media::kDockerManifestList + ", " + media::kDockerManifest;
}

namespace {

json parse_json(std::string_view body, const char* what) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(std::string(what) + " is not a JSON object");
  return j;
}

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string detect_manifest_media_type(std::string_view body, std::string_view content_type) {
  std::string ct(content_type.substr(0, content_type.find(';')));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  if (is_schema1_media_type(ct)) throw Error(kSchema1Unsupported);
  json j = parse_json(body, "manifest");
  if (j.contains("schemaVersion") && j["schemaVersion"] == 1) throw Error(kSchema1Unsupported);
  if (is_index_media_type(ct) || is_manifest_media_type(ct)) return ct;
  std::string mt = string_field(j, "mediaType");
  if (is_schema1_media_type(mt)) throw Error(kSchema1Unsupported);
  if (is_index_media_type(mt) || is_manifest_media_type(mt)) return mt;
  if (!mt.empty()) throw Error("unsupported manifest media type " + mt);
  // OCI allows mediaType to be absent: tell by shape.
  if (j.contains("manifests")) return media::kOciIndex;
  if (j.contains("config") && j.contains("layers")) return media::kOciManifest;
  throw Error("response is neither an image manifest nor an index");
}

}  // namespace slipway::registry
