// libFuzzer target: net/grpc's gRPC server session (nghttp2 underneath) fed arbitrary bytes after a
// valid client preface, a read at a time (the first input byte sets the read size), its output taken
// after each read as a connection would, then its timers run. It must never crash, leak (ASan/LSan)
// or hold more than its memory bound plus one message in flight.
#include "net/grpc/grpc_server_session.h"
#include "net/grpc/protocol_detect.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace ringkv::net::grpc;

constexpr size_t memory_limit = 1 << 20;

const service_registry& registry() {
  static const service_registry* the_registry = [] {
    auto* r = new service_registry;
    r->add_request_method("/etcdserverpb.KV/Range", [](const call_ref& call, std::string_view request) {
      call->respond(request);
    });
    r->add_stream_method("/etcdserverpb.Watch/Watch", [](const call_ref& call) {
      server_call* raw = call.get();
      call->set_stream_callbacks({[raw](std::string_view m) { raw->write(m); },
                                  [raw] { raw->finish(status::success()); }, {}});
    });
    return r;
  }();
  return *the_registry;
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t read_bytes = 1 + data[0] * 4;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  server_limits limits;
  limits.connection_memory_bytes_limit = memory_limit;
  limits.max_request_bytes = 64 * 1024;
  limits.grpc_overhead_bytes = 1024;
  limits.max_concurrent_streams = 64;
  limits.stream_reset_burst = 50;
  grpc_server_session server(registry(), limits);
  const std::string preface = std::string(ringkv::net::http2_client_preface) + std::string("\0\0\0\4\0\0\0\0\0", 9);
  session_verdict verdict = server.feed({reinterpret_cast<const uint8_t*>(preface.data()), preface.size()});
  for (size_t at = 0; at < input.size() && verdict == session_verdict::open;) {
    const size_t take = input.size() - at < read_bytes ? input.size() - at : read_bytes;
    verdict = server.feed({reinterpret_cast<const uint8_t*>(input.data()) + at, take});
    at += take;
    if (verdict == session_verdict::open) verdict = server.produce_output();
    server.consume_output(server.pending_output().size());
    check(server.held_bytes() <= memory_limit + 2 * limits.receive_message_bytes_max());
  }
  if (verdict == session_verdict::open) {
    verdict = server.on_timer(std::chrono::steady_clock::now() + std::chrono::hours(3));
    if (verdict == session_verdict::open) server.produce_output();
  }
  return 0;
}
