// runtime/log.h — the process's one logger: structured JSON lines, in etcd's (zap) shape:
//   {"level":"info","ts":"2026-11-24T22:17:57.378Z","caller":"server/process/main.cc:42","msg":"...","key":value}
// Every layer logs through it (runtime, storage, net, server): nothing else writes to stderr, so the
// output is machine-readable line by line. One line is formatted in a local buffer and handed to
// runtime/log_writer.h, which writes it whole to every output (lines never interleave) - in the ringkv
// process from a writer thread behind a bounded queue, so a slow output never blocks a shard. Lines below the configured
// level cost one relaxed atomic load. Member/peer/leader ids go in hex as etcd prints them: hex_id().
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace ringkv::log {

enum class log_level { debug, info, warn, error, panic, fatal };

const char* to_string(log_level level);                          // "debug", "info", ...
std::optional<log_level> parse_log_level(std::string_view text);  // the inverse; nullopt if unknown

// A raft member id as etcd prints it (types.ID.String(): lower-case hex, no padding, "8e9e05c52164694d").
struct hex_id_value {
  uint64_t id;
};

// A value in a log line. Strings are borrowed for the duration of the call only.
struct field {
  using value_type =
      std::variant<std::string_view, int64_t, uint64_t, double, bool, std::vector<std::string>, hex_id_value>;
  std::string_view key;
  value_type value;

  field(std::string_view k, std::string_view v) : key(k), value(v) {}
  field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  field(std::string_view k, std::vector<std::string> v) : key(k), value(std::move(v)) {}
  field(std::string_view k, bool v) : key(k), value(v) {}
  field(std::string_view k, double v) : key(k), value(v) {}
  field(std::string_view k, hex_id_value v) : key(k), value(v) {}
  template <typename Int>
    requires std::is_integral_v<Int> && (!std::is_same_v<Int, bool>)
  field(std::string_view k, Int v) {
    key = k;
    if constexpr (std::is_signed_v<Int>) value = int64_t(v);
    else value = uint64_t(v);
  }
};

// {"member-id":"8e9e05c52164694d"}: every field that carries a member, peer, leader or node id.
inline field hex_id(std::string_view key, uint64_t id) { return field(key, hex_id_value{id}); }
// The text hex_id() writes: "8e9e05c52164694d".
std::string hex_id_text(uint64_t id);

void set_level(log_level level);
log_level level();
// One output, the descriptor `fd` (not closed by the logger); the default is 2 (stderr, as etcd).
// Several outputs (files, journald) and the writer thread: runtime/log_writer.h.
void set_output_fd(int fd);

// Formats one line (without writing it); exposed for tests.
std::string format_line(log_level level, std::string_view msg, std::initializer_list<field> fields,
                        const std::source_location& where);
void write(log_level level, std::string_view msg, std::initializer_list<field> fields,
           const std::source_location& where);

inline void debug(std::string_view msg, std::initializer_list<field> fields = {},
                  const std::source_location& where = std::source_location::current()) {
  if (level() <= log_level::debug) write(log_level::debug, msg, fields, where);
}
inline void info(std::string_view msg, std::initializer_list<field> fields = {},
                 const std::source_location& where = std::source_location::current()) {
  if (level() <= log_level::info) write(log_level::info, msg, fields, where);
}
inline void warn(std::string_view msg, std::initializer_list<field> fields = {},
                 const std::source_location& where = std::source_location::current()) {
  if (level() <= log_level::warn) write(log_level::warn, msg, fields, where);
}
inline void error(std::string_view msg, std::initializer_list<field> fields = {},
                  const std::source_location& where = std::source_location::current()) {
  if (level() <= log_level::error) write(log_level::error, msg, fields, where);
}

// Appends `text` to `out` as a JSON string literal: runtime/json_text.h's escaper, the one of the process.
void append_json_string(std::string& out, std::string_view text);

}  // namespace ringkv::log
