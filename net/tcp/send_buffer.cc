// Chunked, bounded send buffer: see send_buffer.h.
#include "net/tcp/send_buffer.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace ringkv::net {

send_buffer::send_buffer(size_t bytes_limit, size_t chunk_bytes)
    : bytes_limit_(bytes_limit), chunk_bytes_(std::min(chunk_bytes, bytes_limit)) {
  assert(bytes_limit > 0 && chunk_bytes > 0);
}

size_t send_buffer::append(std::span<const std::byte> data) {
  const size_t take = std::min(data.size(), space());
  size_t copied = 0;
  while (copied < take) {
    if (chunks_.empty() || tail_fill_ == chunk_bytes_) {
      chunks_.push_back(spare_ ? std::move(spare_) : std::make_unique<std::byte[]>(chunk_bytes_));
      tail_fill_ = 0;
    }
    const size_t n = std::min(take - copied, chunk_bytes_ - tail_fill_);
    std::memcpy(chunks_.back().get() + tail_fill_, data.data() + copied, n);
    tail_fill_ += n;
    copied += n;
  }
  size_ += take;
  assert(size_ <= bytes_limit_);
  return take;
}

size_t send_buffer::gather(std::span<iovec> iov) const {
  size_t used = 0;
  for (size_t i = 0; i < chunks_.size() && used < iov.size(); ++i) {
    const size_t begin = i == 0 ? head_offset_ : 0;
    const size_t end = i + 1 == chunks_.size() ? tail_fill_ : chunk_bytes_;
    if (end == begin) continue;
    iov[used++] = iovec{chunks_[i].get() + begin, end - begin};
  }
  return used;
}

void send_buffer::consume(size_t bytes) {
  assert(bytes <= size_);
  size_ -= bytes;
  head_offset_ += bytes;
  while (!chunks_.empty()) {
    const size_t end = chunks_.size() == 1 ? tail_fill_ : chunk_bytes_;
    if (head_offset_ < end) break;
    head_offset_ -= end;
    spare_ = std::move(chunks_.front());
    chunks_.pop_front();
  }
  if (chunks_.empty()) {
    assert(size_ == 0 && head_offset_ == 0);
    tail_fill_ = 0;
  }
}

}  // namespace ringkv::net
