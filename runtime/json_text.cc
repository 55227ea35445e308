// runtime/json_text.cc - append_json_string (see json_text.h for the escaping rules).
#include "runtime/json_text.h"

#include <cstdint>

namespace ringkv::runtime {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex_digits[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        const auto byte = static_cast<std::uint8_t>(c);
        if (byte < 0x20) {
          out += "\\u00";
          out += hex_digits[byte >> 4];
          out += hex_digits[byte & 0xf];
        } else {
          out += c;
        }
      }
    }
  }
  out += '"';
}

}  // namespace ringkv::runtime
