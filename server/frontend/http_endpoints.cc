// server/frontend/http_endpoints.cc — see http_endpoints.h.
#include "server/frontend/http_endpoints.h"

namespace ringkv::server {

std::string health_body(bool healthy) { return healthy ? R"({"health":"true"})" : R"({"health":"false"})"; }

std::string version_body() {
  return std::string(R"({"etcdserver":")") + emulated_etcd_version + R"(","etcdcluster":")" +
         emulated_cluster_version + "\"}";
}

}  // namespace ringkv::server
