// TCP connection on the runtime: buffered reads, bounded vectored writes, cancelling close.
// See connection.h for the contract and the writers' protocol.
#include "net/tcp/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "net/tcp/read_buffer.h"
#include "net/tcp/send_buffer.h"
#include "net/tcp/wait_list.h"
#include "runtime/cancel.h"
#include "runtime/io.h"

namespace ringkv::net {

namespace io = runtime::io;

struct connection::state {
  state(int socket_fd, connection_limits l)
      : fd(socket_fd), limits(l), input(l.read_buffer_bytes), output(l.send_buffer_bytes_limit) {}

  int fd;
  connection_limits limits;
  read_buffer input;
  send_buffer output;
  runtime::cancel_source cancel;  // every op of this connection is registered with its token
  int write_error = 0;            // first send failure (or -ECANCELED after close); sticky
  bool reading = false;           // a read is in progress (one reader at a time)
  bool sending = false;           // a send is in flight (one sender at a time)
  bool direct_sending = false;    // ... and it is a direct send from a writer's memory
  bool closing = false;
  unsigned pending_ops = 0;       // operations started and not yet returned
  uint64_t queued_total = 0;      // bytes ever appended to `output`
  uint64_t sent_total = 0;        // bytes ever handed to the kernel; invariant: sent <= queued
  wait_list progress;             // writers waiting for space or for their bytes to be sent
  wait_list idle;                 // close() waiting for pending_ops to reach 0
  std::unique_ptr<stream_codec> codec;      // set_codec(): reads and writes go through it
  std::unique_ptr<std::byte[]> wire_input;  // codec_wire_read_bytes: one recv's socket bytes
};

namespace {

// Counts an operation as pending for its whole duration, so close() can wait for it.
class pending_op {
 public:
  explicit pending_op(connection::state& s) : s_(s) { ++s_.pending_ops; }
  ~pending_op() {
    assert(s_.pending_ops > 0);
    if (--s_.pending_ops == 0) s_.idle.wake_all();
  }
  pending_op(const pending_op&) = delete;
  pending_op& operator=(const pending_op&) = delete;

 private:
  connection::state& s_;
};

// Marks the single reader for the duration of a read.
class reader_slot {
 public:
  explicit reader_slot(connection::state& s) : s_(s) {
    assert(!s_.reading && "two coroutines read one connection at the same time");
    s_.reading = true;
  }
  ~reader_slot() { s_.reading = false; }
  reader_slot(const reader_slot&) = delete;
  reader_slot& operator=(const reader_slot&) = delete;

 private:
  connection::state& s_;
};

// One sendmsg of everything buffered (up to iov_per_send_max pieces); then wakes parked writers.
runtime::task<void> send_once(connection::state& s) {
  assert(!s.sending && !s.output.empty());
  s.sending = true;
  iovec iov[connection::iov_per_send_max];
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = s.output.gather(iov);
  const int sent = co_await io::sendmsg(s.fd, &msg, s.cancel.token());
  s.sending = false;
  if (sent < 0) {
    if (s.write_error == 0) s.write_error = sent;
  } else {
    assert(static_cast<size_t>(sent) <= s.output.size());
    s.output.consume(static_cast<size_t>(sent));
    s.sent_total += static_cast<uint64_t>(sent);
  }
  s.progress.wake_all();
}

// A writer's position in its pieces.
struct write_cursor {
  std::span<const std::span<const std::byte>> pieces;
  size_t piece = 0;   // first piece not fully taken
  size_t offset = 0;  // bytes of pieces[piece] already taken
  size_t taken = 0;   // bytes sent directly or appended to the send buffer

  bool finished() const { return piece == pieces.size(); }
  bool on_last_piece() const { return piece + 1 == pieces.size(); }
  std::span<const std::byte> rest() const { return pieces[piece].subspan(offset); }
  void advance(size_t bytes) {
    offset += bytes;
    taken += bytes;
    if (offset == pieces[piece].size()) ++piece, offset = 0;
  }
};

// Appends as much of the writer's bytes as the send buffer takes (empty pieces are just skipped).
void append_what_fits(connection::state& s, write_cursor& cursor, uint64_t& last_byte_end) {
  while (!cursor.finished() && (cursor.rest().empty() || s.output.space() > 0)) {
    const size_t n = s.output.append(cursor.rest());
    s.queued_total += n;
    last_byte_end = s.queued_total;
    cursor.advance(n);
  }
}

}  // namespace

connection::connection(int fd, connection_limits limits) : state_(std::make_unique<state>(fd, limits)) {
  assert(fd >= 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on non-TCP sockets
}

connection::~connection() {
  if (!state_) return;
  assert(state_->pending_ops == 0 && "connection destroyed while an operation is pending");
  if (state_->fd >= 0) ::close(state_->fd);
}

connection::connection(connection&&) noexcept = default;

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    connection old(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

bool connection::is_open() const { return state_ && state_->fd >= 0 && !state_->closing; }
int connection::fd() const { return state_ ? state_->fd : -1; }

std::span<const std::byte> connection::readable() const {
  return state_ ? state_->input.readable() : std::span<const std::byte>{};
}

void connection::consume(size_t bytes) {
  assert(state_);
  state_->input.consume(bytes);
}

runtime::task<int> connection::fill(size_t min_bytes) {
  assert(state_);
  state& s = *state_;
  if (min_bytes > s.limits.read_buffer_bytes) co_return -EMSGSIZE;
  pending_op op(s);
  reader_slot reader(s);
  while (s.input.readable().size() < std::max<size_t>(min_bytes, 1)) {
    if (s.closing) co_return -ECANCELED;
    std::span<std::byte> space = s.input.writable();
    assert(!space.empty());
    int got = 0;
    if (s.codec) {
      got = co_await read_decoded(space);
    } else {
      got = co_await io::recv(s.fd, space.data(), space.size(), s.cancel.token());
    }
    if (got <= 0) co_return got;
    s.input.commit(static_cast<size_t>(got));
  }
  co_return static_cast<int>(s.input.readable().size());
}

runtime::task<int> connection::read_some(std::span<std::byte> out) {
  assert(state_);
  state& s = *state_;
  if (out.empty()) co_return 0;
  if (s.input.empty() && out.size() >= s.limits.read_buffer_bytes && !s.codec) {
    if (s.closing) co_return -ECANCELED;
    pending_op op(s);
    reader_slot reader(s);
    co_return co_await io::recv(s.fd, out.data(), out.size(), s.cancel.token());
  }
  if (s.input.empty()) {
    const int got = co_await fill(1);
    if (got <= 0) co_return got;
  }
  std::span<const std::byte> have = s.input.readable();
  const size_t n = std::min(have.size(), out.size());
  std::memcpy(out.data(), have.data(), n);
  s.input.consume(n);
  co_return static_cast<int>(n);
}

runtime::task<int> connection::read_exact(std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    const int got = co_await read_some(out.subspan(done));
    if (got < 0) co_return got;
    if (got == 0) co_return done == 0 ? 0 : peer_closed_midway;
    done += static_cast<size_t>(got);
  }
  co_return static_cast<int>(done);
}

runtime::task<int> connection::write(std::span<const std::byte> data) {
  if (state_ && state_->codec) return send_encoded({}, data);
  return send_all({}, data);
}

runtime::task<int> connection::writev(std::span<const std::span<const std::byte>> pieces) {
  if (state_ && state_->codec) return send_encoded(pieces, {});
  return send_all(pieces, {});
}

runtime::task<int> connection::flush() {
  if (state_ && state_->codec) return send_encoded({}, {});
  return send_all({}, {});
}

void connection::set_codec(std::unique_ptr<stream_codec> codec) {
  assert(state_ && codec);
  state& s = *state_;
  assert(!s.codec && s.input.empty() && s.pending_ops == 0 && "a codec goes under an idle connection");
  s.codec = std::move(codec);
  s.wire_input = std::make_unique<std::byte[]>(codec_wire_read_bytes);
}

bool connection::has_codec() const { return state_ && state_->codec; }

// Decoded reads: plain bytes out of the codec into `space` (their count; 0: the peer closed; <0 an
// error); when it needs more, one recv of socket bytes goes in. Wire bytes the codec produced while
// decoding (a TLS key update reply) leave before the next recv.
runtime::task<int> connection::read_decoded(std::span<std::byte> space) {
  state& s = *state_;
  while (true) {
    const int plain = s.codec->decode(space);
    if (plain > 0) co_return plain;
    if (plain == stream_codec::peer_closed) co_return 0;
    if (plain != stream_codec::need_wire) co_return -EPROTO;
    std::string produced;
    s.codec->drain_wire(produced);
    if (!produced.empty()) {
      const int sent = co_await send_all({}, std::as_bytes(std::span(produced)));
      if (sent < 0) co_return sent;
    }
    if (s.closing) co_return -ECANCELED;
    const int got = co_await io::recv(s.fd, s.wire_input.get(), codec_wire_read_bytes, s.cancel.token());
    if (got <= 0) co_return got;
    if (!s.codec->take_wire({s.wire_input.get(), static_cast<size_t>(got)})) co_return -EPROTO;
  }
}

// Encoded writes: encoding and queueing the wire bytes happen in one synchronous step (send_all
// appends before it first suspends, or waits in arrival order), so records leave in the order the
// codec made them.
runtime::task<int> connection::send_encoded(std::span<const std::span<const std::byte>> pieces,
                                            std::span<const std::byte> single) {
  state& s = *state_;
  if (s.closing) co_return -ECANCELED;
  if (s.write_error != 0) co_return s.write_error;
  if (pieces.empty() && !single.empty()) pieces = {&single, 1};
  // Several pieces (frames of one HTTP/2 flush, a batch of peer frames) are joined first and encoded
  // at once: one TLS record per 16 KiB of plain bytes instead of one record (header, tag, and a
  // cipher call) per piece.
  std::string joined;
  if (pieces.size() > 1) {
    size_t total = 0;
    for (const auto piece : pieces) total += piece.size();
    joined.reserve(total);
    for (const auto piece : pieces) joined.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    single = std::as_bytes(std::span(joined));
    pieces = {&single, 1};
  }
  std::string wire;
  size_t plain_bytes = 0;
  for (const auto piece : pieces) {
    if (piece.empty()) continue;
    if (!s.codec->encode(piece, wire)) {
      s.write_error = -EPROTO;
      co_return -EPROTO;
    }
    plain_bytes += piece.size();
  }
  s.codec->drain_wire(wire);
  const int sent = co_await send_all({}, std::as_bytes(std::span(wire)));
  if (sent < 0) co_return sent;
  assert(plain_bytes <= static_cast<size_t>(std::numeric_limits<int>::max()));
  co_return static_cast<int>(plain_bytes);
}

// The writers' protocol (see connection.h): append what fits, then either become the one sender or
// park until the sender frees space / reports progress; return once our last byte has been sent.
// Fast path: a writer's last (or only) piece goes out straight from its memory with one send when
// nothing is buffered or in flight - the usual request/response case: no copy, no iovec. While such a
// direct send is in flight other writers wait without appending, and its unsent rest is appended
// before they resume, so bytes stay in order.
runtime::task<int> connection::send_all(std::span<const std::span<const std::byte>> pieces,
                                        std::span<const std::byte> single) {
  assert(state_);
  state& s = *state_;
  if (pieces.empty() && !single.empty()) pieces = {&single, 1};  // `single` lives in this frame
  if (s.closing) co_return -ECANCELED;
  pending_op op(s);
  write_cursor cursor{pieces};
  uint64_t last_byte_end = s.queued_total;  // everything queued before us must go out first
  for (;;) {
    if (s.write_error != 0) co_return s.write_error;
    if (s.direct_sending) {
      co_await s.progress.wait();
      continue;
    }
    if (!s.sending && s.output.empty() && cursor.on_last_piece() && !cursor.rest().empty()) {
      s.sending = s.direct_sending = true;
      const std::span<const std::byte> data = cursor.rest();
      const int sent = co_await io::send(s.fd, data.data(), data.size(), s.cancel.token());
      s.sending = s.direct_sending = false;
      if (sent < 0) {
        if (s.write_error == 0) s.write_error = sent;
      } else {
        s.queued_total += static_cast<uint64_t>(sent);
        s.sent_total += static_cast<uint64_t>(sent);
        cursor.advance(static_cast<size_t>(sent));
        last_byte_end = s.queued_total;
        append_what_fits(s, cursor, last_byte_end);  // our unsent rest goes before anyone else's bytes
      }
      s.progress.wake_all();
      continue;
    }
    append_what_fits(s, cursor, last_byte_end);
    if (cursor.finished() && s.sent_total >= last_byte_end) break;
    if (!s.sending) {
      co_await send_once(s);
    } else {
      co_await s.progress.wait();
    }
  }
  assert(cursor.taken <= static_cast<size_t>(std::numeric_limits<int>::max()));
  co_return static_cast<int>(cursor.taken);
}

size_t connection::send_buffered_bytes() const { return state_ ? state_->output.size() : 0; }

size_t connection::send_buffer_bytes_limit() const {
  return state_ ? state_->limits.send_buffer_bytes_limit : 0;
}

runtime::task<void> connection::close() {
  if (!state_ || state_->closing || state_->fd < 0) co_return;
  state& s = *state_;
  s.closing = true;
  if (s.write_error == 0) s.write_error = -ECANCELED;
  s.cancel.cancel();
  s.progress.wake_all();  // parked writers see write_error and return
  while (s.pending_ops > 0) co_await s.idle.wait();
  const int fd = std::exchange(s.fd, -1);
  co_await io::close(fd);
}

}  // namespace ringkv::net
