// server/common/log.h — forwarding header: the logger moved down to runtime/log.h (namespace ringkv::log)
// so that runtime/, storage/ and net/ log through it too. Kept only for server/frontend/client_port.cc,
// which is being replaced; new code includes runtime/log.h. Remove once nothing includes this file.
#pragma once

#include "runtime/log.h"

namespace ringkv::server {
namespace log = ringkv::log;
}  // namespace ringkv::server
