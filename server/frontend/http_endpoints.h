// server/frontend/http_endpoints.h — bodies of the plain HTTP/1.1 endpoints served on the client port, byte for
// byte as etcd 3.4 answers them: GET /health, GET /version (and /metrics via metrics::global()).
#pragma once

#include <string>

#include "server/common/emulated_version.h"

namespace ringkv::server {

std::string health_body(bool healthy);  // {"health":"true"} / {"health":"false"}
std::string version_body();             // {"etcdserver":"3.4.0","etcdcluster":"3.4.0"}

}  // namespace ringkv::server
