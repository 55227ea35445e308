// runtime/json_text.h - the one JSON string escaper (server log lines, ringkv-bench --json).
//
// append_json_string appends `text` as a JSON string literal, quotes included: `"` and `\` are
// backslash-escaped, \n \r \t use their short forms, every other byte below 0x20 becomes \u00XX.
// Bytes from 0x20 up (UTF-8 included) are copied unchanged; invalid UTF-8 is not repaired.
#pragma once

#include <string>
#include <string_view>

namespace ringkv::runtime {

void append_json_string(std::string& out, std::string_view text);

}  // namespace ringkv::runtime
