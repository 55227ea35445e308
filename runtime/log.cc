// runtime/log.cc — JSON-line formatting of runtime/log.h; runtime/log_writer.cc writes the lines.
#include "runtime/log.h"

#include "runtime/json_text.h"
#include "runtime/log_writer.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace ringkv::log {
namespace {

std::atomic<log_level> current_level{log_level::info};

void append_timestamp(std::string& out) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = std::time_t(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  out.append(buffer, length);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", int(ms % 1000));
  out += millis;
}

// "../server/main.cc" (meson passes paths relative to the build dir) -> "server/main.cc"
std::string_view short_file(std::string_view path) {
  while (path.rfind("../", 0) == 0) path.remove_prefix(3);
  if (auto pos = path.rfind("/work/main/"); pos != std::string_view::npos) path.remove_prefix(pos + 11);
  return path;
}

struct value_appender {
  std::string& out;
  void operator()(std::string_view v) const { append_json_string(out, v); }
  void operator()(int64_t v) const { out += std::to_string(v); }
  void operator()(uint64_t v) const { out += std::to_string(v); }
  void operator()(bool v) const { out += v ? "true" : "false"; }
  void operator()(double v) const {
    if (!std::isfinite(v)) { out += "null"; return; }
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    out.append(buffer, end);
  }
  void operator()(hex_id_value v) const {
    out += '"';
    out += hex_id_text(v.id);
    out += '"';
  }
  void operator()(const std::vector<std::string>& list) const {
    out += '[';
    for (size_t i = 0; i < list.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, list[i]);
    }
    out += ']';
  }
};

}  // namespace

const char* to_string(log_level level) {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    case log_level::panic: return "panic";
    case log_level::fatal: return "fatal";
  }
  return "info";
}

std::optional<log_level> parse_log_level(std::string_view text) {
  for (auto level : {log_level::debug, log_level::info, log_level::warn, log_level::error, log_level::panic,
                     log_level::fatal})
    if (text == to_string(level)) return level;
  return std::nullopt;
}

std::string hex_id_text(uint64_t id) {
  char buffer[16];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, id, 16);  // 16 digits at most
  return std::string(buffer, end);
}

void set_level(log_level level) { current_level.store(level, std::memory_order_relaxed); }
log_level level() { return current_level.load(std::memory_order_relaxed); }

void append_json_string(std::string& out, std::string_view text) { runtime::append_json_string(out, text); }

std::string format_line(log_level level, std::string_view msg, std::initializer_list<field> fields,
                        const std::source_location& where) {
  std::string line;
  line.reserve(160);
  line += "{\"level\":\"";
  line += to_string(level);
  line += "\",\"ts\":\"";
  append_timestamp(line);
  line += "\",\"caller\":";
  append_json_string(line, std::string(short_file(where.file_name())) + ":" + std::to_string(where.line()));
  line += ",\"msg\":";
  append_json_string(line, msg);
  for (const auto& f : fields) {
    line += ',';
    append_json_string(line, f.key);
    line += ':';
    std::visit(value_appender{line}, f.value);
  }
  line += "}\n";
  return line;
}

void write(log_level level, std::string_view msg, std::initializer_list<field> fields,
           const std::source_location& where) {
  std::string_view file = short_file(where.file_name());
  std::string_view caller_dir = file.substr(0, file.rfind('/') == std::string_view::npos ? 0 : file.rfind('/'));
  detail::emit(level, caller_dir, format_line(level, msg, fields, where));
}

}  // namespace ringkv::log
