// server/common/unary_helpers.h — small helpers shared by the unary methods of etcd_server and the applier:
// parse a request, serialize a reply, fail with a status (grpc-go's text for undecodable requests).
#pragma once

#include <string>

#include "net/grpc/grpc_status.h"
#include "server/common/errors.h"

namespace ringkv::server::unary {

inline rpc_status malformed() {
  auto status = net::grpc::malformed_request_status("proto: cannot parse invalid wire-format data");
  return {grpc_code(int(status.code)), status.message};
}

template <typename Message>
bool parse(Message& message, std::string_view bytes) {
  return message.ParseFromArray(bytes.data(), int(bytes.size()));
}

template <typename Message>
apply_result reply(const Message& message) {
  apply_result out;
  message.SerializeToString(&out.response);
  return out;
}

inline apply_result failure(rpc_status status) { return {std::move(status), {}, {}}; }

}  // namespace ringkv::server::unary
