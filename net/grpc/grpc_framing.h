// gRPC message framing over HTTP/2 DATA: the 5-byte prefix (compressed flag, u32 big-endian length),
// a deframer that cuts a stream's DATA bytes into messages without copying when a message lies
// inside one chunk, and the per-stream outbound byte queue the HTTP/2 data provider drains.
// The deframer never reserves a message's declared length before its bytes arrive: a client that
// declares 2 MiB and sends 5 bytes costs the server 5 bytes, not 2 MiB.
#pragma once

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv::net::grpc {

inline constexpr size_t message_prefix_bytes = 5;

// The grpc-timeout header: 1 to 8 digits and a unit (H, M, S, m, u, n); nullopt if malformed.
std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view text);

// Appends the prefix of an uncompressed message of `message_bytes` bytes.
void append_message_prefix(std::string& out, size_t message_bytes);

// One received message: either borrowed (points into the bytes handed to the session's feed(), valid
// until feed() returns) or owned (reassembled from several chunks; `owned` still starts with the
// 5-byte prefix, so reassembly never moves the body).
struct inbound_message {
  std::string_view borrowed;
  std::string owned;
  bool is_owned = false;

  std::string_view bytes() const {
    return is_owned ? std::string_view(owned).substr(message_prefix_bytes) : borrowed;
  }
};

class message_deframer {
 public:
  enum class outcome : uint8_t { ok, too_large, compressed };

  explicit message_deframer(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Cuts `chunk` into messages, calling on_message(inbound_message&&) for each complete one. Stops at
  // the first message over the limit (too_large; declared_bytes() says how big) or a compressed one.
  template <typename OnMessage>
  outcome feed(std::string_view chunk, OnMessage&& on_message);

  size_t declared_bytes() const { return declared_bytes_; }
  bool mid_message() const { return !partial_.empty(); }
  // Memory held for a message split across chunks: it grows with the bytes that arrived (at most
  // doubling), never to the declared length ahead of them.
  size_t buffered_capacity() const { return partial_.capacity(); }
  // Drops a partly received message and its memory (the call was answered with an error).
  void discard() { std::string().swap(partial_); }

 private:
  // Makes room for `bytes` in partial_: at least double the capacity (so appends stay amortized), but
  // asks for no more than the message's own length.
  void grow_for(size_t bytes) {
    if (bytes <= partial_.capacity()) return;
    const size_t frame_bytes = message_prefix_bytes + declared_bytes_;
    partial_.reserve(std::max(bytes, std::min(frame_bytes, 2 * partial_.capacity())));
  }

  // Reads the prefix at `p` (5 bytes); returns ok and sets declared_bytes_ or the failure.
  outcome read_prefix(const char* p);

  size_t max_message_bytes_;
  size_t declared_bytes_ = 0;
  std::string partial_;  // prefix + body bytes of a message split across chunks
};

template <typename OnMessage>
message_deframer::outcome message_deframer::feed(std::string_view chunk, OnMessage&& on_message) {
  while (!chunk.empty()) {
    if (partial_.empty() && chunk.size() >= message_prefix_bytes) {
      // Fast path: the prefix is here; if the whole message is too, hand out a view.
      if (auto result = read_prefix(chunk.data()); result != outcome::ok) return result;
      const size_t frame_bytes = message_prefix_bytes + declared_bytes_;
      if (chunk.size() >= frame_bytes) {
        on_message(inbound_message{chunk.substr(message_prefix_bytes, declared_bytes_), {}, false});
        chunk.remove_prefix(frame_bytes);
        continue;
      }
      grow_for(chunk.size());
      partial_.assign(chunk);
      return outcome::ok;
    }
    // Slow path: accumulate the prefix, then the body.
    if (partial_.size() < message_prefix_bytes) {
      const size_t take = std::min(message_prefix_bytes - partial_.size(), chunk.size());
      partial_.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      if (partial_.size() < message_prefix_bytes) return outcome::ok;
      if (auto result = read_prefix(partial_.data()); result != outcome::ok) return result;
    }
    const size_t want = message_prefix_bytes + declared_bytes_ - partial_.size();
    const size_t take = std::min(want, chunk.size());
    grow_for(partial_.size() + take);
    partial_.append(chunk.substr(0, take));
    chunk.remove_prefix(take);
    if (take == want) {
      inbound_message message{{}, std::move(partial_), true};
      partial_.clear();
      on_message(std::move(message));
    }
  }
  return outcome::ok;
}

// Bytes queued for one stream's DATA frames, drained by the HTTP/2 data provider without a copy into
// nghttp2 (NO_COPY: the bytes go from here straight into the connection's output buffer).
struct outbound_bytes {
  std::string bytes;
  size_t sent = 0;
  bool end_after_data = false;  // nothing more will be queued: end the stream once drained
  bool deferred = false;        // the data provider is parked: resume it when bytes arrive
  void* owner = nullptr;        // the call this queue belongs to (for drain notifications)
  bool drain_watched = false;   // report to the owner when pending() drops to zero

  size_t pending() const { return bytes.size() - sent; }
  std::string_view next(size_t length) const { return std::string_view(bytes).substr(sent, length); }
  void consume(size_t length) {
    assert(length <= pending());
    sent += length;
    if (sent == bytes.size()) {  // keep the capacity for the next message
      bytes.clear();
      sent = 0;
    }
  }
};

}  // namespace ringkv::net::grpc
