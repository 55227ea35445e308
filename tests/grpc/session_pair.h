// tests/grpc/session_pair.h — a gRPC client session and a server session joined by in-memory byte
// pipes, for the tests of net/grpc (grpc_session_test, call_relay_test).
#pragma once

#include "net/grpc/grpc_client_session.h"
#include "net/grpc/grpc_server_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ringkv::net::grpc {

struct unary_outcome {
  bool done = false;
  status result;
  std::string response;
};

inline grpc_client_session::unary_done record(unary_outcome& outcome) {
  return [&outcome](const status& result, std::string_view response) {
    outcome.done = true;
    outcome.result = result;
    outcome.response = response;
  };
}

// A client and a server session joined by two in-memory byte pipes.
class session_pair {
 public:
  explicit session_pair(const service_registry& registry, server_limits limits = {},
                        client_options client_settings = {})
      : server(registry, limits), client(std::move(client_settings)) {}

  // Moves bytes both ways until neither side has anything to say: at most chunk_bytes per feed()
  // (0 = everything pending), each chunk from a scratch buffer that is scribbled over afterwards, as a
  // socket's read buffer would be reused, so any view kept past feed() shows up.
  void pump() {
    for (int round = 0; round < 1'000'000; ++round) {
      bool moved = false;
      client.produce_output();
      if (client.has_output() && server_verdict == session_verdict::open) {
        server_verdict = server.feed(take_chunk(client));
        moved = true;
      }
      if (server_verdict != session_verdict::closed) {
        const auto produced = server.produce_output();
        if (server_verdict == session_verdict::open) server_verdict = produced;
      }
      if (server.has_output()) {
        client.feed(take_chunk(server));
        moved = true;
      }
      scratch_.assign(scratch_.size(), 'X');
      if (!moved) return;
    }
    FAIL() << "sessions never went quiet";
  }

  size_t chunk_bytes = 0;
  grpc_server_session server;
  grpc_client_session client;
  session_verdict server_verdict = session_verdict::open;

 private:
  std::span<const uint8_t> take_chunk(h2_session_base& from) {
    const auto pending = from.pending_output();
    const size_t take = chunk_bytes == 0 ? pending.size() : std::min(chunk_bytes, pending.size());
    scratch_.assign(reinterpret_cast<const char*>(pending.data()), take);
    from.consume_output(take);
    return {reinterpret_cast<const uint8_t*>(scratch_.data()), scratch_.size()};
  }
  std::string scratch_;
};

inline std::string big_payload(size_t bytes) {
  std::string payload(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) payload[i] = static_cast<char>('a' + i % 23);
  return payload;
}

// What a server-streaming call sent back.
struct streamed_reply {
  std::vector<std::string> messages;
  std::optional<status> done;
};

}  // namespace ringkv::net::grpc
