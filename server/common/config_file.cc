// server/common/config_file.cc — see config_file.h.
#include "server/common/config_file.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>

namespace ringkv::server {
namespace {

// The nested security maps of etcd's file (embed.securityConfig) and the flag-name prefix of their keys.
constexpr std::pair<std::string_view, std::string_view> security_sections[] = {
    {"client-transport-security", ""},
    {"peer-transport-security", "peer-"},
};

bool is_integer(const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

// The flag text of one YAML value, or an error ("" text and "" error: unset).
struct converted {
  std::string text;
  std::string error;
};

converted convert(const YAML::Node& node, value_kind kind) {
  if (node.IsSequence()) {
    std::string joined;
    for (const auto& item : node) {
      if (!item.IsScalar()) return {"", "a list item is not a plain value"};
      joined += (joined.empty() ? "" : ",") + item.Scalar();
    }
    return {joined, ""};
  }
  if (!node.IsScalar()) return {"", "must be a plain value or a list"};
  const std::string& scalar = node.Scalar();
  if (kind == value_kind::boolean) {
    bool value = false;
    if (!YAML::convert<bool>::decode(node, value)) return {"", "invalid boolean '" + scalar + "'"};
    return {value ? "true" : "false", ""};
  }
  if (kind == value_kind::duration && is_integer(scalar)) return {scalar + "ns", ""};  // time.Duration in ns
  return {scalar, ""};
}

}  // namespace

config_file_entries read_config_file(const std::string& path,
                                     const std::function<std::optional<value_kind>(std::string_view)>& kind_of) {
  config_file_entries entries;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    entries.error = "cannot open the file";
    return entries;
  } catch (const YAML::Exception& error) {
    entries.error = std::string("not valid YAML: ") + error.what();
    return entries;
  }
  if (root.IsNull()) return entries;  // an empty file: every default
  if (!root.IsMap()) {
    entries.error = "the top level must be a map of flag names to values";
    return entries;
  }
  auto add = [&](const std::string& key, const std::string& flag_name, const YAML::Node& value) {
    if (value.IsNull()) return true;
    auto kind = kind_of(flag_name);
    if (!kind) {
      entries.warnings.push_back("unknown key '" + key + "' in config file '" + path + "' (ignored)");
      return true;
    }
    converted text = convert(value, *kind);
    if (!text.error.empty()) {
      entries.error = "key '" + key + "': " + text.error;
      return false;
    }
    entries.values.emplace_back(flag_name, text.text);
    return true;
  };
  try {
    for (const auto& item : root) {
      const std::string key = item.first.as<std::string>();
      bool handled = false;
      for (const auto& [section, prefix] : security_sections) {
        if (key != section) continue;
        handled = true;
        if (item.second.IsNull()) break;
        if (!item.second.IsMap()) {
          entries.error = "key '" + key + "' must be a map (cert-file, key-file, ...)";
          return entries;
        }
        for (const auto& inner : item.second) {
          const std::string inner_key = inner.first.as<std::string>();
          if (!add(key + "." + inner_key, std::string(prefix) + inner_key, inner.second)) return entries;
        }
      }
      if (!handled && !add(key, key, item.second)) return entries;
    }
  } catch (const YAML::Exception& error) {
    entries.error = std::string("not valid YAML: ") + error.what();
  }
  return entries;
}

}  // namespace ringkv::server
