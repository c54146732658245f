// Fuzzes the Dockerfile parser: any input must either parse (and then
// serialise to JSON) or throw ParseError; nothing else may escape or crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dockerfile_parser/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto df = slipway::dockerfile::parse(text, "fuzz");
    (void)slipway::dockerfile::to_json(df).dump();
    (void)slipway::dockerfile::outline(df);
  } catch (const slipway::dockerfile::ParseError&) {
  }
  return 0;
}
