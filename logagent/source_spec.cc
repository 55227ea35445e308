// logagent/source_spec.cc - SourceConfig JSON -> source_spec: protobuf's JSON parser (unknown fields
// refused) for the shape, then the agent's own rules (path and topic set, sizes in range, the regex
// compiles).
#include "logagent/source_spec.h"

#include <google/protobuf/util/json_util.h>

#include <regex>

#include "logagent/source_config.pb.h"

namespace ringkv::logagent {

namespace {

std::string parse_into(std::string_view json, pb::SourceConfig& out) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(std::string(json), &out, options);
  return parsed.ok() ? std::string() : std::string(parsed.message());
}

}  // namespace

parsed_source parse_source(std::string_view name, std::string_view json,
                           const std::map<std::string, std::string>& defaults_json) {
  parsed_source out;
  out.spec.name = std::string(name);
  pb::SourceConfig merged;
  for (const auto& [key, value] : defaults_json) {
    pb::SourceConfig defaults;
    if (auto error = parse_into(value, defaults); !error.empty()) {
      out.error = "defaults " + key + ": " + error;
      return out;
    }
    merged.MergeFrom(defaults);
  }
  pb::SourceConfig own;
  if (auto error = parse_into(json, own); !error.empty()) {
    out.error = error;
    return out;
  }
  merged.MergeFrom(own);  // set scalar fields of the source win; fields maps merge
  source_spec& s = out.spec;
  s.path = merged.path();
  s.topic = merged.topic();
  s.multiline_start = merged.multiline_start();
  s.max_line_bytes = merged.max_line_bytes() == 0 ? source_spec::default_max_line_bytes : merged.max_line_bytes();
  s.rate_lines_per_s = merged.rate_lines_per_s();
  s.fields = {merged.fields().begin(), merged.fields().end()};
  if (s.path.empty() || s.path[0] != '/') {
    out.error = "path must be an absolute file path or glob";
  } else if (s.topic.empty()) {
    out.error = "topic is required";
  } else if (s.max_line_bytes > source_spec::max_line_bytes_limit) {
    out.error = "maxLineBytes above " + std::to_string(source_spec::max_line_bytes_limit);
  } else if (!s.multiline_start.empty()) {
    try {
      std::regex check(s.multiline_start);
    } catch (const std::regex_error& e) {
      out.error = std::string("multilineStart is not a valid regex: ") + e.what();
    }
  }
  return out;
}

}  // namespace ringkv::logagent
