// Size-class free lists for nghttp2's allocations. Each block carries a 16-byte header holding its
// size class (or, for large blocks, its size) so free/realloc know where it belongs.
#include "net/grpc/h2_allocator.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ringkv::net::grpc {

namespace {

constexpr size_t header_bytes = 16;  // keeps the returned pointer 16-byte aligned

struct block_header {
  size_t size_class;  // index into class_bytes, or large_class
  size_t bytes;       // usable bytes
};
static_assert(sizeof(block_header) <= header_bytes);

block_header* header_of(void* block) {
  return reinterpret_cast<block_header*>(static_cast<char*>(block) - header_bytes);
}

}  // namespace

h2_allocator::~h2_allocator() {
  for (free_block*& head : free_) {
    while (head != nullptr) {
      free_block* next = head->next;
      std::free(header_of(head));
      head = next;
    }
  }
}

void* h2_allocator::allocate(size_t bytes) {
  size_t size_class = 0;
  while (size_class < class_bytes.size() && class_bytes[size_class] < bytes) ++size_class;
  const size_t usable = size_class < class_bytes.size() ? class_bytes[size_class] : bytes;
  if (usable > live_bytes_limit_ - std::min(live_bytes_, live_bytes_limit_)) return nullptr;  // NGHTTP2_ERR_NOMEM
  if (size_class < class_bytes.size() && free_[size_class] != nullptr) {
    free_block* block = free_[size_class];
    free_[size_class] = block->next;
    --free_count_[size_class];
    live_bytes_ += usable;
    return block;
  }
  void* raw = std::malloc(header_bytes + usable);
  if (raw == nullptr) return nullptr;  // nghttp2 reports NGHTTP2_ERR_NOMEM
  live_bytes_ += usable;
  auto* header = static_cast<block_header*>(raw);
  header->size_class = size_class;
  header->bytes = usable;
  return static_cast<char*>(raw) + header_bytes;
}

void h2_allocator::release(void* block) {
  if (block == nullptr) return;
  block_header* header = header_of(block);
  const size_t size_class = header->size_class;
  assert(live_bytes_ >= header->bytes);
  live_bytes_ -= header->bytes;
  if (size_class < class_bytes.size() && free_count_[size_class] < free_blocks_per_class_limit) {
    auto* entry = static_cast<free_block*>(block);
    entry->next = free_[size_class];
    free_[size_class] = entry;
    ++free_count_[size_class];
    return;
  }
  std::free(header);
}

void* h2_allocator::reallocate(void* block, size_t bytes) {
  if (block == nullptr) return allocate(bytes);
  const size_t old_bytes = header_of(block)->bytes;
  if (bytes <= old_bytes) return block;
  void* grown = allocate(bytes);
  if (grown == nullptr) return nullptr;
  std::memcpy(grown, block, old_bytes);
  release(block);
  return grown;
}

void* h2_allocator::mem_malloc(size_t bytes, void* self) {
  return static_cast<h2_allocator*>(self)->allocate(bytes);
}

void h2_allocator::mem_free(void* block, void* self) {
  static_cast<h2_allocator*>(self)->release(block);
}

void* h2_allocator::mem_calloc(size_t count, size_t bytes, void* self) {
  if (bytes != 0 && count > SIZE_MAX / bytes) return nullptr;
  void* block = static_cast<h2_allocator*>(self)->allocate(count * bytes);
  if (block != nullptr) std::memset(block, 0, count * bytes);
  return block;
}

void* h2_allocator::mem_realloc(void* block, size_t bytes, void* self) {
  return static_cast<h2_allocator*>(self)->reallocate(block, bytes);
}

}  // namespace ringkv::net::grpc
