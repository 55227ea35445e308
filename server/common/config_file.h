// server/common/config_file.h — etcd's YAML configuration file (`--config-file`, ETCD_CONFIG_FILE), read
// with yaml-cpp into flag values, so one file works for etcd 3.4 and ringkv:
//   name: infra1                       top-level keys are flag names; a null value (`wal-dir:`) is unset
//   initial-cluster-state: 'new'       scalars are the flag's text; booleans as YAML writes them
//   log-outputs: [stderr]              a sequence is joined with ',' (lists of URLs, outputs)
//   backend-batch-interval: 10000000   a duration as etcd's file has it: integer nanoseconds (Go's time.
//                                      Duration); Go's text form ("10ms") is accepted as well
//   client-transport-security:         nested maps: their keys name the client TLS flags (cert-file, ...);
//     cert-file: /etc/ringkv/c.pem     peer-transport-security's keys the peer ones (peer-cert-file, ...)
// Unknown keys are reported as warnings (etcd ignores them silently).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/common/flag_spec.h"

namespace ringkv::server {

struct config_file_entries {
  std::vector<std::pair<std::string, std::string>> values;  // flag name -> value text, in file order
  std::vector<std::string> warnings;                       // unknown keys
  std::string error;                                       // unreadable file, bad YAML, wrong shape
};

// `kind_of(flag name)`: the flag's value kind, nullopt for a name that is not a flag.
config_file_entries read_config_file(const std::string& path,
                                     const std::function<std::optional<value_kind>(std::string_view)>& kind_of);

}  // namespace ringkv::server
