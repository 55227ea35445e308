// Reading and validating one inbound peer frame (see frame_reader.h).
#include "net/peer/frame_reader.h"

#include <xxhash.h>

#include <array>
#include <cassert>

#include <sys/socket.h>

#include "net/tcp/result.h"
#include "raft/codec.h"
#include "runtime/timer.h"

namespace ringkv::net::peer {

namespace {

frame_read fault(frame_fault why, std::string detail) {
  frame_read r;
  r.fault = why;
  r.detail = std::move(detail);
  return r;
}

// fill()'s result as a fault, when it did not deliver `wanted` bytes.
frame_read fill_fault(const connection& conn, int got) {
  if (got == 0 && conn.readable().empty()) return fault(frame_fault::closed, "peer closed the connection");
  if (got == 0) return fault(frame_fault::io_error, "peer closed in the middle of a frame");
  return fault(frame_fault::io_error, "receive failed: " + error_text(got));
}

// The rest of a frame whose prefix arrived is read under its frame_pace deadline: an alarm that shuts
// the connection down when the deadline passes first (the read then fails at once).
runtime::alarm shutdown_when_late(connection& conn, std::chrono::milliseconds limit) {
  return runtime::alarm(runtime::clock::now() + limit, [fd = conn.fd()] { ::shutdown(fd, SHUT_RDWR); });
}

frame_read too_slow(size_t body_bytes) {
  return fault(frame_fault::too_slow, "frame of " + std::to_string(body_bytes) + " bytes arrived too slowly");
}

// Decodes the message and checks it against the header.
frame_read decode(const frame_header& header, const raft::SharedBytes& message_bytes) {
  std::string error;
  std::optional<raft::Message> message = raft::decode_message(message_bytes, &error);
  if (!message) return fault(frame_fault::undecodable, error);
  if (message->from != header.from || message->to != header.to) {
    return fault(frame_fault::misaddressed, "frame header and raft message disagree on sender or receiver");
  }
  frame_read r;
  r.header = header;
  r.message = std::move(*message);
  return r;
}

// Holds part of a large_frame_budget while a frame is received.
class budget_reservation {
 public:
  budget_reservation(large_frame_budget& budget, size_t bytes) : budget_(budget), bytes_(bytes) {
    assert(budget_.bytes_in_use + bytes_ <= budget_.bytes_limit);
    budget_.bytes_in_use += bytes_;
  }
  ~budget_reservation() { budget_.bytes_in_use -= bytes_; }
  budget_reservation(const budget_reservation&) = delete;
  budget_reservation& operator=(const budget_reservation&) = delete;

 private:
  large_frame_budget& budget_;
  size_t bytes_;
};

std::span<std::byte> writable_bytes(raft::SharedBytes& block) {
  return {reinterpret_cast<std::byte*>(block.mutable_data()), block.size()};
}

// A frame larger than the read buffer, its prefix consumed: header first, then the message straight into
// its own block, within the large-frame budget.
runtime::task<frame_read> read_large_frame(connection& conn, frame_prefix prefix, const header_check& check,
                                           large_frame_budget& budget) {
  const size_t message_bytes = prefix.body_bytes - frame_header_bytes;
  std::array<std::byte, frame_header_bytes> header_bytes;
  int got = co_await conn.read_exact(header_bytes);
  if (got <= 0) co_return fault(frame_fault::io_error, "frame header cut short");
  const frame_header header = parse_header(header_bytes);
  if (frame_fault why = check(header); why != frame_fault::none) co_return fault(why, "frame header rejected");
  if (message_bytes > budget.bytes_limit - budget.bytes_in_use) {
    co_return fault(frame_fault::over_budget, "large frame over the inbound memory budget");
  }
  budget_reservation reserved(budget, message_bytes);
  raft::SharedBytes block = raft::SharedBytes::allocate(message_bytes);
  got = co_await conn.read_exact(writable_bytes(block));
  if (got <= 0 && message_bytes > 0) co_return fault(frame_fault::io_error, "frame body cut short");
  if (body_checksum(header_bytes, block.span()) != prefix.body_checksum) {
    co_return fault(frame_fault::checksum, "frame checksum mismatch");
  }
  co_return decode(header, block);
}

}  // namespace

const char* fault_name(frame_fault f) {
  switch (f) {
    case frame_fault::none: return "none";
    case frame_fault::closed: return "closed";
    case frame_fault::io_error: return "io_error";
    case frame_fault::too_slow: return "too_slow";
    case frame_fault::bad_prefix: return "bad_prefix";
    case frame_fault::checksum: return "checksum";
    case frame_fault::undecodable: return "undecodable";
    case frame_fault::wrong_cluster: return "wrong_cluster";
    case frame_fault::removed_sender: return "removed_sender";
    case frame_fault::misaddressed: return "misaddressed";
    case frame_fault::over_budget: return "over_budget";
    case frame_fault::members_query: return "members_query";
  }
  return "unknown";
}

runtime::task<frame_read> read_frame(connection& conn, const header_check& check, size_t in_place_bytes_max,
                                     large_frame_budget& budget, const frame_pace& pace) {
  int got = co_await conn.fill(frame_prefix_bytes);
  if (got <= 0) co_return fill_fault(conn, got);
  const frame_prefix prefix = parse_prefix(conn.readable().first<frame_prefix_bytes>());
  if (std::string problem = check_prefix(prefix); !problem.empty()) co_return fault(frame_fault::bad_prefix, problem);
  const size_t total_bytes = frame_prefix_bytes + prefix.body_bytes;
  const std::chrono::milliseconds deadline = pace.deadline_for(prefix.body_bytes);
  if (total_bytes <= in_place_bytes_max) {
    {
      const runtime::alarm late = shutdown_when_late(conn, deadline);
      got = co_await conn.fill(total_bytes);
      if (late.expired()) co_return too_slow(prefix.body_bytes);
    }
    if (got <= 0) co_return fill_fault(conn, got);
    const std::span<const std::byte> body = conn.readable().subspan(frame_prefix_bytes, prefix.body_bytes);
    if (XXH3_64bits(body.data(), body.size()) != prefix.body_checksum) {
      co_return fault(frame_fault::checksum, "frame checksum mismatch");
    }
    const frame_header header = parse_header(body.first<frame_header_bytes>());
    if (frame_fault why = check(header); why != frame_fault::none) co_return fault(why, "frame header rejected");
    const std::span<const std::byte> message = body.subspan(frame_header_bytes);
    raft::SharedBytes block = raft::SharedBytes::copy_of(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()), message.size()));
    conn.consume(total_bytes);
    co_return decode(header, block);
  }
  conn.consume(frame_prefix_bytes);
  const runtime::alarm late = shutdown_when_late(conn, deadline);
  frame_read large = co_await read_large_frame(conn, prefix, check, budget);
  if (late.expired()) co_return too_slow(prefix.body_bytes);
  co_return large;
}

}  // namespace ringkv::net::peer
