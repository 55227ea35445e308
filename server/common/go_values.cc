// server/common/go_values.cc — see go_values.h. The duration grammar and limits follow Go's
// time.ParseDuration (src/time/format.go).
#include "server/common/go_values.h"

#include <array>
#include <cstdint>
#include <utility>

namespace ringkv::server {
namespace {

using wide = unsigned __int128;  // room for a component before the int64 range check

constexpr wide int64_magnitude_max = wide(uint64_t(1) << 63);  // |INT64_MIN|; INT64_MAX is one less

constexpr std::array<std::pair<std::string_view, uint64_t>, 8> duration_units{{
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1000},  // U+03BC Greek small letter mu
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", uint64_t(60) * 1000000000},
    {"h", uint64_t(3600) * 1000000000},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<bool> parse_go_bool(std::string_view text) {
  for (std::string_view yes : {"1", "t", "T", "TRUE", "true", "True"})
    if (text == yes) return true;
  for (std::string_view no : {"0", "f", "F", "FALSE", "false", "False"})
    if (text == no) return false;
  return std::nullopt;
}

std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return std::nullopt;
  wide total = 0;
  while (!text.empty()) {
    // <digits>[.<digits>]: at least one digit on one side of the point.
    wide whole = 0;
    size_t i = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      whole = whole * 10 + wide(text[i] - '0');
      if (whole > int64_magnitude_max) return std::nullopt;
    }
    bool has_digits = i > 0;
    wide fraction = 0;
    wide fraction_scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      for (; i < text.size() && is_digit(text[i]); ++i) {
        has_digits = true;
        if (fraction_scale < wide(uint64_t(1000000000000000000))) {  // further digits are below 1 ns
          fraction = fraction * 10 + wide(text[i] - '0');
          fraction_scale *= 10;
        }
      }
    }
    if (!has_digits) return std::nullopt;
    size_t unit_end = i;
    while (unit_end < text.size() && text[unit_end] != '.' && !is_digit(text[unit_end])) ++unit_end;
    const std::string_view unit_text = text.substr(i, unit_end - i);
    uint64_t unit = 0;
    for (const auto& [name, nanoseconds] : duration_units)
      if (unit_text == name) unit = nanoseconds;
    if (unit == 0) return std::nullopt;  // a missing or unknown unit
    total += whole * unit + fraction * unit / fraction_scale;
    if (total > int64_magnitude_max) return std::nullopt;
    text.remove_prefix(unit_end);
  }
  if (!negative && total == int64_magnitude_max) return std::nullopt;  // INT64_MAX + 1
  const int64_t magnitude = total == int64_magnitude_max ? INT64_MIN : int64_t(total);
  return std::chrono::nanoseconds(negative && magnitude != INT64_MIN ? -magnitude : magnitude);
}

}  // namespace ringkv::server
