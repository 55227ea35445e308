// raft/shared_bytes.h: SharedBytes, a reference-counted immutable byte slice.
// Entry payloads travel through the log, messages and ready() as SharedBytes so that no entry is copied
// or allocated on its own: one propose() batch or one received frame is one block, and every entry is a
// slice of it. The count is NOT atomic: a block and all its slices belong to one thread (the raft shard);
// to hand a payload to another shard, copy it (SharedBytes::copy_of).
// A block may also adopt bytes it does not own (SharedBytes::adopt: a read-only mapping of a snapshot
// file), released by a function of the owner's when the last reference goes.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <span>
#include <string_view>
#include <utility>

namespace ringkv::raft {

class SharedBytes {
 public:
  SharedBytes() = default;
  SharedBytes(const SharedBytes& other) : block_(other.block_), offset_(other.offset_), size_(other.size_) {
    if (block_) ++block_->refs;
  }
  SharedBytes(SharedBytes&& other) noexcept
      : block_(std::exchange(other.block_, nullptr)), offset_(other.offset_), size_(std::exchange(other.size_, 0)) {}
  SharedBytes& operator=(const SharedBytes& other) {
    if (this != &other) {
      SharedBytes copy(other);
      swap(copy);
    }
    return *this;
  }
  SharedBytes& operator=(SharedBytes&& other) noexcept {
    SharedBytes moved(std::move(other));
    swap(moved);
    return *this;
  }
  ~SharedBytes() { release(); }

  // A new writable block of `size` bytes (contents uninitialised); fill it through mutable_data()
  // before sharing it.
  static SharedBytes allocate(size_t size) {
    assert(size <= UINT32_MAX);
    void* memory = ::operator new(sizeof(Block) + size);  // small blocks: the per-thread cache
    SharedBytes bytes;
    Block* block = new (memory) Block{1, static_cast<uint32_t>(size), nullptr, nullptr};
    block->base = reinterpret_cast<uint8_t*>(block + 1);
    bytes.block_ = block;
    bytes.size_ = static_cast<uint32_t>(size);
    return bytes;
  }
  // `size` bytes at `data` that the caller owns and keeps unchanged until `release` runs, once, when
  // the last reference (copy or slice) is gone. Never writable.
  static SharedBytes adopt(const uint8_t* data, size_t size, std::function<void()> release) {
    assert(size <= UINT32_MAX);
    SharedBytes bytes;
    bytes.block_ = new AdoptedBlock(data, static_cast<uint32_t>(size), std::move(release));
    bytes.size_ = static_cast<uint32_t>(size);
    return bytes;
  }
  static SharedBytes copy_of(std::span<const uint8_t> source) {
    SharedBytes bytes = allocate(source.size());
    if (!source.empty()) std::memcpy(bytes.mutable_data(), source.data(), source.size());
    return bytes;
  }
  static SharedBytes copy_of(std::string_view source) {
    return copy_of(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(source.data()), source.size()));
  }

  // Writable only while this is the sole reference (right after allocate()).
  uint8_t* mutable_data() {
    assert(block_ != nullptr && block_->refs == 1 && block_->free_adopted == nullptr);
    return block_->base + offset_;
  }
  const uint8_t* data() const { return block_ ? block_->base + offset_ : nullptr; }
  // Whether no other SharedBytes (copy or slice) shares this block.
  bool sole_reference() const { return block_ != nullptr && block_->refs == 1; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> span() const { return {data(), size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data()), size_}; }

  // A slice sharing this block: [offset, offset + length) of this slice.
  SharedBytes slice(size_t offset, size_t length) const {
    assert(offset + length <= size_);
    SharedBytes part(*this);
    part.offset_ = offset_ + static_cast<uint32_t>(offset);
    part.size_ = static_cast<uint32_t>(length);
    return part;
  }
  void swap(SharedBytes& other) noexcept {
    std::swap(block_, other.block_);
    std::swap(offset_, other.offset_);
    std::swap(size_, other.size_);
  }

 private:
  struct Block {
    uint32_t refs;
    uint32_t capacity;
    uint8_t* base;                        // the bytes: right after the block, or the adopted ones
    void (*free_adopted)(Block* block);  // set for an AdoptedBlock: releases its bytes and itself
  };
  struct AdoptedBlock : Block {
    AdoptedBlock(const uint8_t* data, uint32_t size, std::function<void()> release)
        : Block{1, size, const_cast<uint8_t*>(data), &free_adopted_block}, release_bytes(std::move(release)) {}
    std::function<void()> release_bytes;
  };
  static void free_adopted_block(Block* block) {
    auto* adopted = static_cast<AdoptedBlock*>(block);
    std::function<void()> release = std::move(adopted->release_bytes);
    delete adopted;
    if (release) release();
  }
  // Out of line: g++ 12's -Wuse-after-free cannot follow the count through inlined copies of a block.
  [[gnu::noinline]] static void free_block(Block* block) {
    if (block->free_adopted != nullptr) {
      block->free_adopted(block);
    } else {
      ::operator delete(block, sizeof(Block) + block->capacity);
    }
  }
  void release() {
    Block* block = std::exchange(block_, nullptr);
    if (block != nullptr && --block->refs == 0) free_block(block);
  }

  Block* block_ = nullptr;
  uint32_t offset_ = 0;
  uint32_t size_ = 0;
};

}  // namespace ringkv::raft
