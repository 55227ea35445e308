// logagent/source_spec.h - one log source as the agent runs it: the JSON of
// /logagent/<host>/sources/<name> merged over the defaults of /logagent/defaults/ and validated.
// A bad source is never run: parse_source() returns its error text, which the agent logs and publishes
// in its status key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace ringkv::logagent {

struct source_spec {
  std::string name;
  std::string path;             // a file or a glob
  std::string topic;
  std::string multiline_start;  // empty: every line is a record
  uint32_t max_line_bytes = 0;
  uint32_t rate_lines_per_s = 0;  // 0: unlimited
  std::map<std::string, std::string> fields;

  static constexpr uint32_t default_max_line_bytes = 64 * 1024;
  static constexpr uint32_t max_line_bytes_limit = 1024 * 1024;  // a record's size in the in-flight queue

  bool operator==(const source_spec&) const = default;
};

struct parsed_source {
  source_spec spec;
  std::string error;  // empty when spec is valid
  bool ok() const { return error.empty(); }
};

// `defaults_json`: the JSON objects under /logagent/defaults/ (each a partial SourceConfig), applied
// in order; `json`: the source's own value.
parsed_source parse_source(std::string_view name, std::string_view json,
                           const std::map<std::string, std::string>& defaults_json);

}  // namespace ringkv::logagent
