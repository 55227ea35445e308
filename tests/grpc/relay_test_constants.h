// tests/grpc/relay_test_constants.h — what the cross-shard call tests (call_relay_test, local_call_test)
// share: the methods they call, the two shards, and how long a wait may take before it fails.
#pragma once

#include <chrono>
#include <string_view>

namespace ringkv::net::grpc::relay_test {

inline constexpr std::string_view kRange = "/etcdserverpb.KV/Range";
inline constexpr std::string_view kSnapshot = "/etcdserverpb.Maintenance/Snapshot";
inline constexpr std::string_view kWatch = "/etcdserverpb.Watch/Watch";
inline constexpr unsigned home = 0;              // where the handlers run
inline constexpr unsigned connection_shard = 1;  // where the caller runs
inline constexpr std::chrono::seconds wait_limit{5};

}  // namespace ringkv::net::grpc::relay_test
