// runtime/small_alloc.cc - the replacement global operator new/delete with per-thread size-class caches
// (design, limits and when it is off: runtime/small_alloc.h).
#include "runtime/small_alloc.h"

#include <malloc.h>

#include <atomic>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(RINGKV_SMALL_ALLOC_OFF)
#define RINGKV_SMALL_ALLOC_REPLACES_NEW 0
#else
#define RINGKV_SMALL_ALLOC_REPLACES_NEW 1
#endif

namespace ringkv::runtime::small_alloc {
namespace {

// Per-thread free lists. Trivially constructible and destructible, so the thread_local needs no guard on
// the hot path; the drainer below frees what it holds when the thread exits.
struct thread_cache {
  struct free_block {
    free_block* next;
  };
  free_block* heads[size_classes];
  std::size_t blocks[size_classes];
  std::size_t bytes;
  bool drain_registered;  // this thread's drainer exists
  bool closed;            // drained at thread exit: no more caching on this thread
};

constinit thread_local thread_cache this_thread_cache{};

void drain(thread_cache& cache) noexcept {
  for (std::size_t c = 0; c < size_classes; ++c) {
    while (thread_cache::free_block* block = cache.heads[c]) {
      cache.heads[c] = block->next;
      std::free(block);
    }
    cache.blocks[c] = 0;
  }
  cache.bytes = 0;
}

struct thread_cache_drainer {
  thread_cache_drainer() noexcept { this_thread_cache.drain_registered = true; }
  ~thread_cache_drainer() {
    this_thread_cache.closed = true;
    drain(this_thread_cache);
  }
};

// 0: not decided yet, 1: caching, 2: plain malloc/free. Decided once, at the first allocation.
enum : int { mode_unknown = 0, mode_on = 1, mode_off = 2 };
constinit std::atomic<int> mode{mode_unknown};

[[gnu::noinline]] int decide_mode() noexcept {
  int decided = mode_off;
  if (RINGKV_SMALL_ALLOC_REPLACES_NEW) {
    const char* setting = std::getenv("RINGKV_SMALL_ALLOC");  // getenv does not allocate
    decided = (setting != nullptr && std::strcmp(setting, "0") == 0) ? mode_off : mode_on;
  }
  mode.store(decided, std::memory_order_relaxed);
  return decided;
}

inline bool caching() noexcept {
  int current = mode.load(std::memory_order_relaxed);
  if (current == mode_unknown) [[unlikely]] current = decide_mode();
  return current == mode_on;
}

// malloc that follows operator new's contract: retries through the new_handler, throws bad_alloc.
[[gnu::noinline]] void* malloc_or_throw(std::size_t bytes) {
  for (;;) {
    if (void* block = std::malloc(bytes)) return block;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* aligned_or_throw(std::size_t bytes, std::size_t alignment) {
  for (;;) {
    void* block = nullptr;
    if (posix_memalign(&block, alignment, bytes == 0 ? 1 : bytes) == 0) return block;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

inline void* allocate(std::size_t bytes) {
  if (bytes <= pooled_bytes_max && caching()) {
    const std::size_t size_class = class_of_request(bytes);
    thread_cache& cache = this_thread_cache;
    if (thread_cache::free_block* block = cache.heads[size_class]) {
      cache.heads[size_class] = block->next;
      --cache.blocks[size_class];
      cache.bytes -= class_block_bytes(size_class);
      return block;
    }
    return malloc_or_throw(class_block_bytes(size_class));
  }
  return malloc_or_throw(bytes == 0 ? 1 : bytes);
}

[[gnu::noinline]] void register_drainer() noexcept {
  static thread_local thread_cache_drainer drainer;  // first cached block of this thread
  (void)drainer;
}

// Caches `block` in `size_class` (its usable size is at least that class's bytes) or frees it.
inline void cache_or_free(void* block, std::size_t size_class) noexcept {
  thread_cache& cache = this_thread_cache;
  const std::size_t block_bytes = class_block_bytes(size_class);
  if (!cache.closed && cache.blocks[size_class] < class_blocks_limit(size_class) &&
      cache.bytes + block_bytes <= thread_cached_bytes_limit) {
    if (!cache.drain_registered) [[unlikely]] register_drainer();
    auto* node = static_cast<thread_cache::free_block*>(block);
    node->next = cache.heads[size_class];
    cache.heads[size_class] = node;
    ++cache.blocks[size_class];
    cache.bytes += block_bytes;
    return;
  }
  std::free(block);
}

// Unsized delete: the class comes from the block itself (usable >= (class + 1) * 16, whoever allocated it).
inline void deallocate(void* block) noexcept {
  if (block == nullptr) return;
  if (caching()) {
    const std::size_t granules = malloc_usable_size(block) / granule_bytes;
    if (granules >= 1 && granules <= size_classes) {
      cache_or_free(block, granules - 1);
      return;
    }
  }
  std::free(block);
}

// Sized delete: `bytes` is what was asked of operator new, so the block was handed out by the class of
// `bytes` (or, above pooled_bytes_max, by malloc itself): no need to read its malloc header.
inline void deallocate(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  if (bytes <= pooled_bytes_max && caching()) {
    cache_or_free(block, class_of_request(bytes));
    return;
  }
  std::free(block);
}

constexpr std::size_t default_alignment = __STDCPP_DEFAULT_NEW_ALIGNMENT__;

inline void* allocate_aligned(std::size_t bytes, std::align_val_t alignment) {
  const auto align = static_cast<std::size_t>(alignment);
  if (align <= default_alignment) return allocate(bytes);
  return aligned_or_throw(bytes, align);
}

inline void deallocate_aligned(void* block, std::align_val_t alignment) noexcept {
  if (static_cast<std::size_t>(alignment) <= default_alignment) {
    deallocate(block);
  } else {
    std::free(block);  // over-aligned blocks are never cached
  }
}

inline void deallocate_aligned(void* block, std::size_t bytes, std::align_val_t alignment) noexcept {
  if (static_cast<std::size_t>(alignment) <= default_alignment) {
    deallocate(block, bytes);
  } else {
    std::free(block);
  }
}

}  // namespace

bool enabled() noexcept { return caching(); }

std::size_t cached_bytes() noexcept { return this_thread_cache.bytes; }

std::size_t cached_blocks(std::size_t size_class) noexcept {
  assert(size_class < size_classes);
  return this_thread_cache.blocks[size_class];
}

void release_thread_cache() noexcept { drain(this_thread_cache); }

}  // namespace ringkv::runtime::small_alloc

#if RINGKV_SMALL_ALLOC_REPLACES_NEW
namespace sa = ringkv::runtime::small_alloc;

void* operator new(std::size_t bytes) { return sa::allocate(bytes); }
void* operator new[](std::size_t bytes) { return sa::allocate(bytes); }
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept {
  try {
    return sa::allocate(bytes);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t bytes, const std::nothrow_t&) noexcept {
  try {
    return sa::allocate(bytes);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t bytes, std::align_val_t alignment) { return sa::allocate_aligned(bytes, alignment); }
void* operator new[](std::size_t bytes, std::align_val_t alignment) {
  return sa::allocate_aligned(bytes, alignment);
}
void* operator new(std::size_t bytes, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  try {
    return sa::allocate_aligned(bytes, alignment);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t bytes, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  try {
    return sa::allocate_aligned(bytes, alignment);
  } catch (...) {
    return nullptr;
  }
}

void operator delete(void* block) noexcept { sa::deallocate(block); }
void operator delete[](void* block) noexcept { sa::deallocate(block); }
void operator delete(void* block, std::size_t bytes) noexcept { sa::deallocate(block, bytes); }
void operator delete[](void* block, std::size_t bytes) noexcept { sa::deallocate(block, bytes); }
void operator delete(void* block, const std::nothrow_t&) noexcept { sa::deallocate(block); }
void operator delete[](void* block, const std::nothrow_t&) noexcept { sa::deallocate(block); }
void operator delete(void* block, std::align_val_t alignment) noexcept { sa::deallocate_aligned(block, alignment); }
void operator delete[](void* block, std::align_val_t alignment) noexcept {
  sa::deallocate_aligned(block, alignment);
}
void operator delete(void* block, std::size_t bytes, std::align_val_t alignment) noexcept {
  sa::deallocate_aligned(block, bytes, alignment);
}
void operator delete[](void* block, std::size_t bytes, std::align_val_t alignment) noexcept {
  sa::deallocate_aligned(block, bytes, alignment);
}
void operator delete(void* block, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  sa::deallocate_aligned(block, alignment);
}
void operator delete[](void* block, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  sa::deallocate_aligned(block, alignment);
}
#endif
