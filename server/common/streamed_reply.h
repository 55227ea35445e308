// server/common/streamed_reply.h — a unary reply too large to build whole (a Range over a big key
// space): its serialized size is known before its first byte, and its bytes are made a slice at a time,
// each slice on a later loop turn, as the client takes them (request_pipeline sends it; the JSON
// gateway, which needs the whole message, joins the slices).
#pragma once

#include <cstddef>
#include <string>

#include "server/common/errors.h"

namespace ringkv::server {

inline constexpr size_t streamed_reply_slice_bytes = size_t{256} << 10;  // made per loop turn (about)

class streamed_reply {
 public:
  virtual ~streamed_reply() = default;
  // The whole serialized reply's size.
  virtual size_t total_bytes() const = 0;
  // Appends the next bytes (about `budget`; at least one while any remain) to `out`. Not ok: the reply
  // cannot be finished (what it reads changed under it); the call ends with that status.
  virtual rpc_status next(std::string& out, size_t budget) = 0;
  virtual bool done() const = 0;
};

}  // namespace ringkv::server
