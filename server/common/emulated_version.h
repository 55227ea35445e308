// server/common/emulated_version.h — the etcd version ringkv answers as (GET /version, Status).
#pragma once

namespace ringkv::server {

inline constexpr const char* emulated_etcd_version = "3.4.0";
inline constexpr const char* emulated_cluster_version = "3.4.0";

}  // namespace ringkv::server
