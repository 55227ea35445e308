// runtime/frame_pool.h - a bounded per-thread cache of freed coroutine frames, used by task<T>'s promise.
//
// Every co_await of a task allocates a frame and frees it when the task ends; on a request path that is
// several malloc/free pairs per request. Freed frames are kept in per-thread free lists by size class
// (frame_granule_bytes steps up to frame_pooled_bytes_max) and handed out again for the next frame of the
// same class. Each thread keeps at most frame_cache_bytes_limit bytes; beyond that frames go back to the
// allocator. Blocks always come from ::operator new with their class's full size, so a frame freed on
// another thread than the one that allocated it is simply cached (or freed) by the freeing thread.
// The cache is drained when its thread exits; frames freed after that go straight to ::operator delete.
// Under AddressSanitizer pooling is off (RINGKV_RUNTIME_FRAME_POOL == 0) so ASan still sees every
// use-after-free and double free of a frame.
#pragma once

#include <cstddef>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define RINGKV_RUNTIME_FRAME_POOL 0
#else
#define RINGKV_RUNTIME_FRAME_POOL 1
#endif

namespace ringkv::runtime::detail {

inline constexpr std::size_t frame_granule_bytes = 64;
inline constexpr std::size_t frame_pooled_bytes_max = 2048;          // larger frames are not pooled
inline constexpr std::size_t frame_cache_bytes_limit = 1024 * 1024;  // cached bytes per thread
inline constexpr std::size_t frame_size_classes = frame_pooled_bytes_max / frame_granule_bytes;

// Per-thread free lists. Trivially constructible and destructible, so a thread_local of it needs no
// initialisation guard on the hot path; the drainer below frees what it holds at thread exit.
struct frame_cache {
  struct free_frame {
    free_frame* next;
  };
  free_frame* free_lists[frame_size_classes];
  std::size_t cached_bytes;
  bool drain_registered;  // the thread-exit drainer exists
  bool closed;            // drained at thread exit: allocate and free without caching
};

inline constinit thread_local frame_cache this_thread_frames{};

// Frees every frame the cache holds (the thread-exit drainer also marks it closed first).
inline void drain_frame_cache(frame_cache& cache) noexcept {
  for (frame_cache::free_frame*& head : cache.free_lists) {
    while (head != nullptr) {
      frame_cache::free_frame* next = head->next;
      ::operator delete(static_cast<void*>(head));
      head = next;
    }
  }
  cache.cached_bytes = 0;
}

struct frame_cache_drainer {
  frame_cache_drainer() noexcept { this_thread_frames.drain_registered = true; }
  ~frame_cache_drainer() {
    this_thread_frames.closed = true;
    drain_frame_cache(this_thread_frames);
  }
};

// Size class index for a frame of `bytes` (class c holds blocks of (c + 1) * frame_granule_bytes).
constexpr std::size_t frame_class_of(std::size_t bytes) noexcept {
  return (bytes + frame_granule_bytes - 1) / frame_granule_bytes - 1;
}

inline void* allocate_frame(std::size_t bytes) {
  if (bytes == 0 || bytes > frame_pooled_bytes_max) return ::operator new(bytes);
  const std::size_t size_class = frame_class_of(bytes);
  frame_cache& cache = this_thread_frames;
  if (frame_cache::free_frame* frame = cache.free_lists[size_class]) {
    cache.free_lists[size_class] = frame->next;
    cache.cached_bytes -= (size_class + 1) * frame_granule_bytes;
    return frame;
  }
  return ::operator new((size_class + 1) * frame_granule_bytes);
}

inline void free_frame(void* frame, std::size_t bytes) noexcept {
  if (bytes == 0 || bytes > frame_pooled_bytes_max) {
    ::operator delete(frame);
    return;
  }
  const std::size_t size_class = frame_class_of(bytes);
  const std::size_t block_bytes = (size_class + 1) * frame_granule_bytes;
  frame_cache& cache = this_thread_frames;
  if (cache.closed || cache.cached_bytes + block_bytes > frame_cache_bytes_limit) {
    ::operator delete(frame);
    return;
  }
  if (!cache.drain_registered) {
    static thread_local frame_cache_drainer drainer;  // first cached frame of this thread
    (void)drainer;
  }
  auto* node = static_cast<frame_cache::free_frame*>(frame);
  node->next = cache.free_lists[size_class];
  cache.free_lists[size_class] = node;
  cache.cached_bytes += block_bytes;
}

}  // namespace ringkv::runtime::detail
