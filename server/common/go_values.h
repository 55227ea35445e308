// server/common/go_values.h — flag values written the way etcd (Go) reads them, so command lines,
// ETCD_* variables and config files written for etcd mean the same to ringkv:
//   booleans   Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False
//   durations  Go's time.ParseDuration: [sign] then one or more <number>[.<fraction>]<unit>, units ns us
//              µs μs ms s m h ("1.5h", "300ms", "10us", "1h2m3s"); "0" alone is the only unitless value.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace ringkv::server {

std::optional<bool> parse_go_bool(std::string_view text);

// nullopt when `text` is not a Go duration or does not fit in int64 nanoseconds (Go's limit, ~292 years).
std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view text);

}  // namespace ringkv::server
