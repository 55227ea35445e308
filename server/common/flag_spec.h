// server/common/flag_spec.h — one row of the server's flag table (config.cc): the flag's etcd name,
// default and help, how its value is read, and whether ringkv builds what it asks for. Every etcd 3.4
// flag has a row: the built ones in config.cc, the others (no effect in ringkv, or not built) in
// etcd_flags_unbuilt.cc. Internal to server/common.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "server/common/config.h"

namespace ringkv::server {

// Returns an error ("" when the value was taken).
using flag_setter = std::function<std::string(server_config&, const std::string&)>;

// How a value is written: decides the command-line arity (booleans take none), how a config file's YAML
// node becomes the flag's text, and how two spellings of one value compare.
enum class value_kind {
  text,
  boolean,       // Go's ParseBool spellings
  integer,       // decimal
  duration,      // Go duration text; a YAML integer is nanoseconds (etcd's config file)
  list,          // comma-separated; a YAML sequence is joined with ','
};

enum class flag_support {
  built,      // ringkv does what the flag asks
  no_effect,  // accepted with a warning that says why nothing changes (the value is still checked)
  not_built,  // ringkv refuses to start: the flag asks for something that matters and is not built
};

struct flag_spec {
  const char* name;
  const char* default_value;  // shown in --help and applied before flags/env ('$...' is filled in later)
  const char* help;
  flag_setter set;            // for no_effect / not_built flags: checks the value only
  value_kind kind = value_kind::text;
  flag_support support = flag_support::built;
  // no_effect / not_built: why, in one sentence.
  const char* why = "";
  // Values ('|'-separated) that ask for what ringkv does anyway: no warning, no refusal. Compared by
  // kind ("0s" equals "0", "False" equals "false"). Empty: any given value warns / refuses, except that an
  // empty text or list is always inert (unset).
  const char* inert_values = "";
};

// The rows for etcd 3.4's flags that ringkv does not build (etcd_flags_unbuilt.cc).
std::vector<flag_spec> unbuilt_flag_specs();

// The flag's value asks for what ringkv does anyway (one of inert_values): no warning, no refusal.
bool is_inert(const flag_spec& flag, const std::string& value);

// A setter that checks the value has the kind's syntax (and, when given, is one of `choices`, '|'-separated).
flag_setter check_only(value_kind kind, const char* choices = "");

}  // namespace ringkv::server
