#include "builder/reproducible.h"

#include <nlohmann/json.hpp>

#include "layers/image.h"
#include "layers/tar_compare.h"

namespace slipway::build {

namespace {

// The step that made layer `n`: the n-th history entry with a layer.
std::string step_of_layer(const ImageConfig& c, size_t n) {
  size_t seen = 0;
  for (const auto& h : c.history) {
    if (h.empty_layer) continue;
    if (seen++ == n) return h.created_by;
  }
  return "layer " + std::to_string(n + 1);
}

void compare_json(const nlohmann::json& a, const nlohmann::json& b, const std::string& where, std::string& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (k == "rootfs" || k == "history") continue;  // explained through the layers
      compare_json(v, b.contains(k) ? b[k] : nlohmann::json(), where + "." + k, out);
    }
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k)) out += "  config " + where + "." + k + ": only in the second build\n";
    }
    return;
  }
  if (a != b) out += "  config " + where + ": " + a.dump() + " vs " + b.dump() + "\n";
}

}  // namespace

std::string explain_difference(const ContentStore& store, const Digest& first, const Digest& second) {
  Manifest ma = parse_manifest(store.read_all(first)), mb = parse_manifest(store.read_all(second));
  std::string ca = store.read_all(ma.config.digest), cb = store.read_all(mb.config.digest);
  ImageConfig config_a = parse_image_config(ca), config_b = parse_image_config(cb);
  std::string out;
  compare_json(nlohmann::json::parse(ca), nlohmann::json::parse(cb), "", out);
  for (size_t i = 0; i < config_a.history.size() && i < config_b.history.size(); ++i) {
    if (config_a.history[i].created != config_b.history[i].created) {
      out += "  history created times differ (use --reproducible or SOURCE_DATE_EPOCH)\n";
      break;
    }
  }
  if (ma.layers.size() != mb.layers.size()) {
    out += "  " + std::to_string(ma.layers.size()) + " layers vs " + std::to_string(mb.layers.size()) + "\n";
  }
  for (size_t i = 0; i < ma.layers.size() && i < mb.layers.size(); ++i) {
    if (ma.layers[i].digest == mb.layers[i].digest) continue;
    out += "  layer " + std::to_string(i + 1) + " (" + step_of_layer(config_b, i) + "):\n";
    auto diffs = compare_layers(store.blob_path(ma.layers[i].digest), store.blob_path(mb.layers[i].digest));
    if (diffs.empty()) out += "    same entries, different bytes (entry order or compression)\n";
    for (const auto& d : diffs) out += "    " + d + "\n";
  }
  if (out.empty()) out = "  manifests differ only in annotations or media types\n";
  return out;
}

}  // namespace slipway::build
