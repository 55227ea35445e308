// connection: one connected TCP socket on one shard, with a buffered reader and a bounded, vectored
// writer. All I/O goes through the runtime (io_uring); everything here runs on the owning shard only.
//
// Reading: fill() receives into the read buffer, readable()/consume() parse in place, read_some() and
// read_exact() copy out. One reader at a time.
//
// Writing: write()/writev() copy the bytes into the bounded send buffer and return once those bytes
// (and every byte queued before them) have been handed to the kernel. Any number of coroutines may
// write concurrently; their bytes are never interleaved within one call. While one writer's send is in
// flight, others append behind it and the next send takes them all in one sendmsg (vectored, up to
// iov_per_send_max pieces): that is the batching. When the buffer is full (send_buffer_bytes_limit),
// a writer waits: that is the backpressure, so memory per connection stays bounded however slowly the
// peer reads.
//
//   writer A            writer B              send buffer            kernel
//   write(a) ---------> append a -----------> [a]  sendmsg(a) ---->  (in flight)
//                       write(b): append ---> [a b]  (B parks)
//                                             sendmsg done: drop a; A returns, B becomes the sender
//                                             [b]  sendmsg(b) ---->  ...  B returns
//
// Errors: every operation returns an int, >= 0 on success and -errno on failure. After a send fails
// every later write fails with the same error. close() cancels pending operations (they resume with
// -ECANCELED), waits for them, then closes the socket; to close gracefully, flush() first.
// A connection must not be destroyed while one of its operations is pending (asserted).
//
// Codec (TLS): set_codec() puts a stream_codec between the user and the socket (stream_codec.h). From
// then on readable()/fill() see decoded bytes and write() takes plain bytes; the API is unchanged, so
// one protocol driver serves plaintext and TLS connections alike.
#pragma once

#include <cerrno>
#include <cstddef>
#include <memory>
#include <span>

#include "net/tcp/stream_codec.h"
#include "runtime/task.h"

namespace ringkv::net {

struct connection_limits {
  size_t read_buffer_bytes = 64 * 1024;         // also the largest fill(min_bytes)
  size_t send_buffer_bytes_limit = 256 * 1024;  // unsent bytes a connection holds before writers wait
};

// Returned by read_exact() when the peer closed after part of the requested bytes arrived.
inline constexpr int peer_closed_midway = -ENODATA;

class connection {
 public:
  static constexpr size_t iov_per_send_max = 64;

  connection() = default;  // not open
  // Takes ownership of a connected stream socket (sets TCP_NODELAY).
  explicit connection(int fd, connection_limits limits = {});
  ~connection();  // closes the socket synchronously if close() was not awaited
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  bool is_open() const;
  int fd() const;

  // --- reading ---
  // Receives until at least `min_bytes` are buffered. Returns the buffered byte count (>= min_bytes),
  // 0 if the peer closed first (what did arrive stays in readable()), -EMSGSIZE if min_bytes exceeds
  // read_buffer_bytes, or -errno.
  runtime::task<int> fill(size_t min_bytes = 1);
  std::span<const std::byte> readable() const;
  void consume(size_t bytes);
  // Copies up to out.size() bytes (buffered ones first; large reads go straight to `out`).
  // Returns the count, 0 at end of stream, or -errno.
  runtime::task<int> read_some(std::span<std::byte> out);
  // Reads exactly out.size() bytes: returns out.size(), 0 if the stream ended before the first byte,
  // peer_closed_midway if it ended later, or -errno.
  runtime::task<int> read_exact(std::span<std::byte> out);

  // --- writing ---
  // Returns the byte count once it is handed to the kernel, or -errno.
  runtime::task<int> write(std::span<const std::byte> data);
  runtime::task<int> writev(std::span<const std::span<const std::byte>> pieces);
  // Waits until every byte queued so far is handed to the kernel: 0 or -errno.
  runtime::task<int> flush();
  size_t send_buffered_bytes() const;
  size_t send_buffer_bytes_limit() const;

  // --- codec ---
  // Installs `codec` under the connection (e.g. after a TLS handshake done on the raw bytes): every
  // later read and write goes through it. Nothing may be buffered or pending (asserted).
  void set_codec(std::unique_ptr<stream_codec> codec);
  bool has_codec() const;
  // Receive size of one socket read when a codec is installed (a TLS record is at most 16 KiB + 256).
  static constexpr size_t codec_wire_read_bytes = 17 * 1024;

  // Cancels pending operations, waits until they have resumed, closes the socket. Idempotent.
  runtime::task<void> close();

  struct state;  // defined in connection.cc

 private:
  runtime::task<int> send_all(std::span<const std::span<const std::byte>> pieces,
                              std::span<const std::byte> single);
  // send_all through the codec: encodes, then sends the wire bytes; returns the plain byte count.
  runtime::task<int> send_encoded(std::span<const std::span<const std::byte>> pieces,
                                  std::span<const std::byte> single);
  // One read of fill()'s through the codec: plain bytes into `space` (see connection.cc).
  runtime::task<int> read_decoded(std::span<std::byte> space);

  std::unique_ptr<state> state_;
};

}  // namespace ringkv::net
