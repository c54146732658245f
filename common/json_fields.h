#pragma once
// Typed reads of optional JSON fields for the OCI structs (common/oci.cc,
// layers/image.cc). A missing or null field gives the empty value; a field of
// the wrong type throws Error naming the field, because these documents come
// from registries and archives we do not trust.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace slipway::json_fields {

std::string str_or(const nlohmann::json& j, const char* key);
std::vector<std::string> strings(const nlohmann::json& j, const char* key);
std::map<std::string, std::string> string_map(const nlohmann::json& j, const char* key);
int64_t int_or(const nlohmann::json& j, const char* key);

// Parses `text` as a JSON object; `what` names the document in the error.
nlohmann::json parse_object(std::string_view text, const char* what);

// Sets j[key] only for a non-empty value: OCI omits empty optional fields.
void put_if(nlohmann::json& j, const char* key, const std::string& v);

}  // namespace slipway::json_fields
