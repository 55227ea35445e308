// A per-session memory pool for nghttp2's small allocations (stream objects, queued frames, header
// copies): about seven per unary call, which otherwise go through malloc/free every time. Blocks of
// a few size classes are kept on free lists (at most free_blocks_per_class_limit each) and reused;
// anything larger goes to malloc directly. Single-threaded, like the session that owns it, and it must
// outlive that session's nghttp2 object.
// It counts the bytes nghttp2 holds (live_bytes) and refuses allocations past live_bytes_limit (nghttp2
// then fails with NGHTTP2_ERR_NOMEM and the connection closes): whatever a client makes nghttp2 keep
// (streams, queued frames, header blocks) stays bounded per connection.
#pragma once

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace ringkv::net::grpc {

class h2_allocator {
 public:
  static constexpr std::array<size_t, 5> class_bytes = {64, 128, 256, 512, 1024};
  static constexpr size_t free_blocks_per_class_limit = 1024;

  h2_allocator() = default;
  h2_allocator(const h2_allocator&) = delete;
  h2_allocator& operator=(const h2_allocator&) = delete;
  ~h2_allocator();

  // The nghttp2_mem to pass to nghttp2_session_*_new3.
  nghttp2_mem* mem() { return &mem_; }

  // Bytes handed out and not yet released (blocks' usable sizes).
  size_t live_bytes() const { return live_bytes_; }
  void set_live_bytes_limit(size_t bytes) { live_bytes_limit_ = bytes; }

  void* allocate(size_t bytes);
  void release(void* block);
  void* reallocate(void* block, size_t bytes);

 private:
  struct free_block {
    free_block* next;
  };
  static constexpr size_t large_class = class_bytes.size();

  std::array<free_block*, class_bytes.size()> free_{};
  std::array<size_t, class_bytes.size()> free_count_{};
  size_t live_bytes_ = 0;
  size_t live_bytes_limit_ = SIZE_MAX;
  nghttp2_mem mem_{this, &mem_malloc, &mem_free, &mem_calloc, &mem_realloc};

  static void* mem_malloc(size_t bytes, void* self);
  static void mem_free(void* block, void* self);
  static void* mem_calloc(size_t count, size_t bytes, void* self);
  static void* mem_realloc(void* block, size_t bytes, void* self);
};

}  // namespace ringkv::net::grpc
