// runtime/aligned_buffer.h - a zero-filled heap buffer with a chosen alignment, for O_DIRECT I/O.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <utility>

namespace ringkv::runtime {

class aligned_buffer {
 public:
  static constexpr std::size_t default_alignment = 4096;  // O_DIRECT wants logical-block alignment

  aligned_buffer() noexcept = default;
  // `bytes` is rounded up to a multiple of `alignment` (a power of two, at least pointer-sized).
  explicit aligned_buffer(std::size_t bytes, std::size_t alignment = default_alignment)
      : size_(round_up(bytes, alignment)), alignment_(alignment) {
    assert(alignment >= sizeof(void*) && (alignment & (alignment - 1)) == 0);
    if (size_ == 0) return;
    data_ = static_cast<std::byte*>(std::aligned_alloc(alignment, size_));
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_, 0, size_);
  }
  aligned_buffer(aligned_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
        alignment_(other.alignment_) {}
  aligned_buffer& operator=(aligned_buffer&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      alignment_ = other.alignment_;
    }
    return *this;
  }
  aligned_buffer(const aligned_buffer&) = delete;
  aligned_buffer& operator=(const aligned_buffer&) = delete;
  ~aligned_buffer() { std::free(data_); }

  std::byte* data() noexcept { return data_; }
  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t alignment() const noexcept { return alignment_; }
  std::span<std::byte> span() noexcept { return {data_, size_}; }

  static constexpr std::size_t round_up(std::size_t bytes, std::size_t alignment) noexcept {
    return (bytes + alignment - 1) & ~(alignment - 1);
  }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t alignment_ = default_alignment;
};

}  // namespace ringkv::runtime
