#include "layers/image.h"

#include "common/error.h"
#include "common/json_fields.h"

namespace slipway {

using json = nlohmann::json;
using namespace json_fields;

namespace {

std::optional<std::vector<std::string>> opt_strings(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return strings(j, key);
}

// Docker stores sets as {"key": {}}.
std::set<std::string> key_set(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_object()) throw Error(std::string("field \"") + key + "\" is not an object");
  std::set<std::string> out;
  for (auto& [k, v] : it->items()) out.insert(k);
  return out;
}

json set_json(const std::set<std::string>& s) {
  json o = json::object();
  for (auto& k : s) o[k] = json::object();
  return o;
}

json remove_known(json j, std::initializer_list<const char*> keys) {
  for (auto k : keys) j.erase(k);
  return j;
}

}  // namespace

std::string layer_media_type(Compression c, bool docker) {
  switch (c) {
    case Compression::kGzip: return docker ? media::kDockerLayerGzip : media::kOciLayerGzip;
    case Compression::kZstd: return media::kOciLayerZstd;
    default: return docker ? media::kDockerLayer : media::kOciLayer;
  }
}

Compression layer_compression(const std::string& mt) {
  if (mt == media::kOciLayerGzip || mt == media::kDockerLayerGzip || mt == media::kDockerForeignLayerGzip ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip") {
    return Compression::kGzip;
  }
  if (mt == media::kOciLayerZstd || mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") {
    return Compression::kZstd;
  }
  if (mt == media::kOciLayer || mt == media::kDockerLayer ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar") {
    return Compression::kNone;
  }
  throw Error("unsupported layer media type \"" + mt + "\"");
}

ImageConfig parse_image_config(const std::string& text) {
  try {
    json j = parse_object(text, "image config");
    ImageConfig c;
    c.created = str_or(j, "created");
    c.author = str_or(j, "author");
    c.architecture = str_or(j, "architecture");
    c.os = str_or(j, "os");
    c.variant = str_or(j, "variant");
    c.os_version = str_or(j, "os.version");
    if (auto it = j.find("config"); it != j.end() && it->is_object()) {
      const json& cj = *it;
      ContainerConfig& cc = c.config;
      cc.user = str_or(cj, "User");
      cc.exposed_ports = key_set(cj, "ExposedPorts");
      cc.env = strings(cj, "Env");
      cc.entrypoint = opt_strings(cj, "Entrypoint");
      cc.cmd = opt_strings(cj, "Cmd");
      cc.volumes = key_set(cj, "Volumes");
      cc.working_dir = str_or(cj, "WorkingDir");
      cc.labels = string_map(cj, "Labels");
      cc.stop_signal = str_or(cj, "StopSignal");
      cc.shell = opt_strings(cj, "Shell");
      cc.on_build = strings(cj, "OnBuild");
      if (auto a = cj.find("ArgsEscaped"); a != cj.end() && a->is_boolean()) cc.args_escaped = a->get<bool>();
      if (auto h = cj.find("Healthcheck"); h != cj.end() && h->is_object()) {
        HealthConfig hc;
        hc.test = strings(*h, "Test");
        hc.interval = int_or(*h, "Interval");
        hc.timeout = int_or(*h, "Timeout");
        hc.start_period = int_or(*h, "StartPeriod");
        hc.start_interval = int_or(*h, "StartInterval");
        hc.retries = int(int_or(*h, "Retries"));
        cc.healthcheck = hc;
      }
      cc.extra = remove_known(cj, {"User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir",
                                   "Labels", "StopSignal", "Shell", "OnBuild", "ArgsEscaped", "Healthcheck"});
    }
    if (auto it = j.find("rootfs"); it != j.end() && it->is_object()) {
      if (str_or(*it, "type") != "layers") throw Error("rootfs.type is not \"layers\"");
      for (auto& d : strings(*it, "diff_ids")) c.diff_ids.push_back(Digest::parse(d));
    }
    if (auto it = j.find("history"); it != j.end() && it->is_array()) {
      for (auto& h : *it) {
        History e;
        e.created = str_or(h, "created");
        e.created_by = str_or(h, "created_by");
        e.author = str_or(h, "author");
        e.comment = str_or(h, "comment");
        if (auto el = h.find("empty_layer"); el != h.end() && el->is_boolean()) e.empty_layer = el->get<bool>();
        c.history.push_back(e);
      }
    }
    c.extra = remove_known(j, {"created", "author", "architecture", "os", "variant", "os.version", "config",
                               "rootfs", "history"});
    return c;
  } catch (const Error& e) {
    throw e.with_context("parsing image config");
  } catch (const json::exception& e) {
    throw Error(std::string("parsing image config: ") + e.what());
  }
}

std::string image_config_json(const ImageConfig& c) {
  json j = c.extra.is_object() ? c.extra : json::object();
  put_if(j, "created", c.created);
  put_if(j, "author", c.author);
  j["architecture"] = c.architecture;
  j["os"] = c.os;
  put_if(j, "variant", c.variant);
  put_if(j, "os.version", c.os_version);
  const ContainerConfig& cc = c.config;
  json cj = cc.extra.is_object() ? cc.extra : json::object();
  put_if(cj, "User", cc.user);
  if (!cc.exposed_ports.empty()) cj["ExposedPorts"] = set_json(cc.exposed_ports);
  if (!cc.env.empty()) cj["Env"] = cc.env;
  if (cc.entrypoint) cj["Entrypoint"] = *cc.entrypoint;
  if (cc.cmd) cj["Cmd"] = *cc.cmd;
  if (!cc.volumes.empty()) cj["Volumes"] = set_json(cc.volumes);
  put_if(cj, "WorkingDir", cc.working_dir);
  if (!cc.labels.empty()) cj["Labels"] = cc.labels;
  put_if(cj, "StopSignal", cc.stop_signal);
  if (cc.shell) cj["Shell"] = *cc.shell;
  if (!cc.on_build.empty()) cj["OnBuild"] = cc.on_build;
  if (cc.args_escaped) cj["ArgsEscaped"] = true;
  if (cc.healthcheck) {
    const HealthConfig& h = *cc.healthcheck;
    json hj = {{"Test", h.test}};
    if (h.interval) hj["Interval"] = h.interval;
    if (h.timeout) hj["Timeout"] = h.timeout;
    if (h.start_period) hj["StartPeriod"] = h.start_period;
    if (h.start_interval) hj["StartInterval"] = h.start_interval;
    if (h.retries) hj["Retries"] = h.retries;
    cj["Healthcheck"] = hj;
  }
  j["config"] = cj;
  json ids = json::array();
  for (auto& d : c.diff_ids) ids.push_back(d.str());
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", ids}};
  if (!c.history.empty()) {
    json hs = json::array();
    for (auto& h : c.history) {
      json hj = json::object();
      put_if(hj, "created", h.created);
      put_if(hj, "created_by", h.created_by);
      put_if(hj, "author", h.author);
      put_if(hj, "comment", h.comment);
      if (h.empty_layer) hj["empty_layer"] = true;
      hs.push_back(hj);
    }
    j["history"] = hs;
  }
  return j.dump();
}

}  // namespace slipway
