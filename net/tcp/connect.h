// Outgoing TCP connections with a deadline: connect() gives a connection, or -ECONNREFUSED,
// -ETIMEDOUT (the peer did not answer within `timeout`; the attempt is really cancelled in the
// kernel), -ECANCELED (the caller's token was cancelled), or another -errno.
#pragma once

#include <chrono>

#include "net/tcp/connection.h"
#include "net/tcp/endpoint.h"
#include "net/tcp/result.h"
#include "runtime/task.h"

namespace ringkv::net {

runtime::task<result<connection>> connect(endpoint to, std::chrono::nanoseconds timeout,
                                          connection_limits limits = {});

}  // namespace ringkv::net
