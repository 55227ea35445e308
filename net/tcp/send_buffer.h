// The bounded send buffer of a TCP connection: a chain of fixed-size chunks that writers append to and
// the flusher drains with one vectored send per turn. Its byte limit is what gives the connection
// backpressure: a writer that finds no space waits until the flusher frees some (see connection.h).
// Pure data structure, single-threaded, no I/O.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <span>

namespace ringkv::net {

class send_buffer {
 public:
  static constexpr size_t chunk_bytes_default = 16 * 1024;

  // Holds at most `bytes_limit` unsent bytes, in chunks of min(chunk_bytes, bytes_limit).
  explicit send_buffer(size_t bytes_limit, size_t chunk_bytes = chunk_bytes_default);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t bytes_limit() const { return bytes_limit_; }
  size_t space() const { return bytes_limit_ - size_; }

  // Copies as much of `data` as fits (at most space()); returns how many bytes were taken.
  size_t append(std::span<const std::byte> data);

  // Describes the buffered bytes, oldest first, in at most iov.size() entries; returns the count used.
  size_t gather(std::span<iovec> iov) const;

  // Drops the `bytes` oldest bytes (they were sent). Empty chunks are freed, except one kept for reuse.
  void consume(size_t bytes);

 private:
  using chunk = std::unique_ptr<std::byte[]>;

  size_t bytes_limit_;
  size_t chunk_bytes_;
  std::deque<chunk> chunks_;  // invariant: size_ bytes live from head_offset_ in chunks_.front()
  chunk spare_;               // one empty chunk kept so a steady stream does not allocate
  size_t head_offset_ = 0;    // first unsent byte in chunks_.front()
  size_t tail_fill_ = 0;      // bytes used in chunks_.back()
  size_t size_ = 0;
};

}  // namespace ringkv::net
