#include "common/json_fields.h"

#include "common/error.h"

namespace slipway::json_fields {

using json = nlohmann::json;

namespace {

// The field if present and not null, else nullptr.
const json* field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

[[noreturn]] void wrong_type(const std::string& key, const char* what) {
  throw Error("field \"" + key + "\" " + what);
}

}  // namespace

std::string str_or(const json& j, const char* key) {
  const json* f = field(j, key);
  if (!f) return "";
  if (!f->is_string()) wrong_type(key, "is not a string");
  return f->get<std::string>();
}

std::vector<std::string> strings(const json& j, const char* key) {
  const json* f = field(j, key);
  if (!f) return {};
  if (!f->is_array()) wrong_type(key, "is not an array");
  std::vector<std::string> out;
  for (auto& v : *f) {
    if (!v.is_string()) wrong_type(key, "holds a non-string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::map<std::string, std::string> string_map(const json& j, const char* key) {
  const json* f = field(j, key);
  if (!f) return {};
  if (!f->is_object()) wrong_type(key, "is not an object");
  std::map<std::string, std::string> out;
  for (auto& [k, v] : f->items()) {
    if (!v.is_string()) wrong_type(std::string(key) + "." + k, "is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

int64_t int_or(const json& j, const char* key) {
  const json* f = field(j, key);
  if (!f) return 0;
  if (!f->is_number_integer()) wrong_type(key, "is not an integer");
  return f->get<int64_t>();
}

json parse_object(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(std::string("malformed ") + what + " JSON");
  if (!j.is_object()) throw Error(std::string(what) + " JSON is not an object");
  return j;
}

void put_if(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

}  // namespace slipway::json_fields
