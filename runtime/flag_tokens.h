// runtime/flag_tokens.h - splitting a command line into flags and positional arguments.
//
// Only the lexing that the server (server/config.cc) and ringkv-bench (bench/loadgen/options.cc) share:
// what a flag means, its default and its value's syntax stay with the caller, which says through
// `arity` whether a name is a flag and whether it takes a value. Accepted forms, in any order:
//   --name=value  -name=value      any defined flag
//   --name value  -name value      a flag that takes a value (the next argument, whatever it is)
//   --name        -name            a boolean flag (value nullopt; --name=false is the way to say false)
//   --                             ends the flags: every later argument is positional
//   anything else (including "-")  a positional argument, kept in command-line order
// Errors stop the scan and are worded like the etcd tool the caller imitates (flag_dialect).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::runtime {

enum class flag_arity { undefined, takes_value, boolean };

// Whose error messages to mimic.
enum class flag_dialect {
  go_flag,  // etcd server (Go's flag package): "flag provided but not defined: -name"
  pflag,    // etcd's benchmark tool and etcdctl (cobra / spf13 pflag): "unknown flag: --name"
};

struct flag_token {
  std::string name;                  // the flag's name without dashes; empty for a positional argument
  std::optional<std::string> value;  // the flag's value (nullopt: a bare boolean flag), or the positional
  bool positional() const noexcept { return name.empty(); }
};

struct flag_tokens {
  std::vector<flag_token> tokens;  // in command-line order; up to the offending argument on error
  std::string error;               // empty when every argument was read
  bool ok() const noexcept { return error.empty(); }
};

// `args` excludes the program name.
flag_tokens tokenize_flags(std::span<const std::string> args,
                           const std::function<flag_arity(std::string_view name)>& arity, flag_dialect dialect);

}  // namespace ringkv::runtime
