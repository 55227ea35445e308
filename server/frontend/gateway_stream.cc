// server/frontend/gateway_stream.cc — see gateway_stream.h.
#include "server/frontend/gateway_stream.h"

#include <utility>
#include <vector>

#include "net/grpc/http1.h"
#include "net/grpc/local_call.h"
#include "server/frontend/json_gateway.h"

namespace ringkv::server {
namespace {

rpc_status to_rpc_status(const net::grpc::status& result) {
  return {grpc_code(int(result.code)), result.message};
}

// etcd's JSON error as a whole response, after which the connection closes.
std::string error_response(const rpc_status& status) {
  std::string out;
  const std::string body = error_json(status);
  net::http1::response response;
  response.status = http_status_for(status.code);
  response.body = body;
  net::http1::write_response(out, response, false);
  return out;
}

// Converts the queued response messages into JSON lines (up to stream_queued_line_bytes_limit) and
// pops them; messages that do not convert are skipped, as etcd's gateway drops them.
std::string take_lines(net::grpc::local_call& call, std::string_view grpc_method) {
  std::string lines;
  while (lines.size() < stream_queued_line_bytes_limit) {
    const auto message = call.front();
    if (!message) break;
    json_conversion line = stream_result_line(grpc_method, *message);
    if (line.status.ok()) lines += line.bytes;
    call.pop();
  }
  return lines;
}

runtime::task<void> write_only(net::grpc::http_stream& out, std::string bytes) {
  const bool written = co_await out.write(bytes);
  (void)written;  // the connection closes either way
}

runtime::task<void> run_stream(net::grpc::http_stream& out, const net::grpc::service_registry& registry,
                               std::string grpc_method, std::vector<std::string> requests) {
  net::grpc::local_call call(registry, grpc_method);
  out.set_gone_callback([&call] { call.cancel(); });  // a watcher never outlives its HTTP client
  for (const std::string& request : requests) call.send(request);
  call.half_close();  // the body is all the client sends (etcd's gateway: CloseSend at EOF)
  std::string bytes;
  net::http1::write_chunked_head(bytes, {200, "application/json", {}, {{"Grpc-Metadata-Content-Type", "application/grpc"}}});
  while (true) {
    std::string lines = take_lines(call, grpc_method);
    const bool ended = call.ended();
    if (ended && !call.result().ok()) lines += stream_error_line(to_rpc_status(call.result()));
    net::http1::append_chunk(bytes, lines);
    if (ended) net::http1::append_last_chunk(bytes);
    if (!bytes.empty()) {
      const bool written = co_await out.write(bytes);
      if (!written) break;  // the client is gone (its call was cancelled)
      bytes.clear();
    }
    if (ended) break;
    if (!call.front()) co_await call.wait();
  }
}

}  // namespace

net::grpc::http_stream_producer gateway_stream(const net::grpc::service_registry& registry,
                                               std::string grpc_method, std::string_view body) {
  std::vector<std::string> requests;
  for (std::string_view value : split_json_values(body)) {
    json_conversion converted = json_to_request(grpc_method, value);
    if (!converted.status.ok()) {
      // As etcd's gateway answers: Unknown (2), HTTP 500, before any stream.
      std::string response = error_response({grpc_code::unknown, converted.status.message});
      return [response = std::move(response)](net::grpc::http_stream& out) { return write_only(out, response); };
    }
    requests.push_back(std::move(converted.bytes));
  }
  if (requests.empty()) requests.emplace_back();  // an empty body is an empty request
  return [&registry, grpc_method = std::move(grpc_method), requests = std::move(requests)](net::grpc::http_stream& out) {
    return run_stream(out, registry, grpc_method, requests);
  };
}

}  // namespace ringkv::server
