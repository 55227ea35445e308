// The read buffer of a TCP connection: one contiguous block (allocated at first use) that recv fills
// at its end and the reader consumes from its front; unread bytes move to the front only when the free
// tail is too small. Pure data structure, single-threaded, no I/O.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

namespace ringkv::net {

class read_buffer {
 public:
  explicit read_buffer(size_t capacity_bytes);

  size_t capacity() const { return capacity_bytes_; }
  std::span<const std::byte> readable() const { return {storage_.get() + begin_, end_ - begin_}; }
  bool empty() const { return begin_ == end_; }

  // Marks `bytes` of readable() as used.
  void consume(size_t bytes);

  // Free space after the unread bytes, compacting first when less than half the capacity is free at the
  // end. Empty only when the buffer is full of unread bytes.
  std::span<std::byte> writable();
  // Records that `bytes` were written into writable().
  void commit(size_t bytes);

 private:
  size_t capacity_bytes_;
  std::unique_ptr<std::byte[]> storage_;
  size_t begin_ = 0;  // invariant: begin_ <= end_ <= capacity_bytes_
  size_t end_ = 0;
};

}  // namespace ringkv::net
