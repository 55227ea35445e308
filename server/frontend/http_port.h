// server/frontend/http_port.h — HTTP/1.1 on the client port: GET /health, /version, /metrics and etcd's JSON
// gateway (POST /v3/kv/range, ...), one request after another on a keep-alive connection.
#pragma once

#include "net/tcp/connection.h"
#include "runtime/task.h"
#include "server/frontend/client_port.h"

namespace ringkv::server {

// Serves HTTP/1.x requests on `conn` (whose first bytes are already buffered) until the client closes
// or asks to close.
runtime::task<void> serve_http1(net::connection& conn, const client_port_context& context);

}  // namespace ringkv::server
