// Contiguous connection read buffer: see read_buffer.h.
#include "net/tcp/read_buffer.h"

#include <cassert>
#include <cstring>

namespace ringkv::net {

read_buffer::read_buffer(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {
  assert(capacity_bytes > 0);
}

void read_buffer::consume(size_t bytes) {
  assert(bytes <= end_ - begin_);
  begin_ += bytes;
  if (begin_ == end_) begin_ = end_ = 0;
}

std::span<std::byte> read_buffer::writable() {
  if (!storage_) storage_ = std::make_unique<std::byte[]>(capacity_bytes_);
  if (begin_ > 0 && capacity_bytes_ - end_ < capacity_bytes_ / 2) {
    std::memmove(storage_.get(), storage_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  return {storage_.get() + end_, capacity_bytes_ - end_};
}

void read_buffer::commit(size_t bytes) {
  assert(storage_ && bytes <= capacity_bytes_ - end_);
  end_ += bytes;
}

}  // namespace ringkv::net
