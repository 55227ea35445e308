// runtime/small_alloc.h - a per-thread small-object cache behind the global operator new/delete.
//
// Why: a put request makes a dozen small allocations (protobuf strings, map nodes, payload strings, frames)
// and with hundreds of requests in flight glibc's tcache (7 blocks per size) overflows into _int_malloc /
// _int_free, which cost ~30% of the server's CPU. small_alloc.cc replaces every global operator new and
// delete (plain, array, nothrow, aligned, sized) with a front cache:
//   - allocation of n <= pooled_bytes_max bytes takes a block of class ceil(n / granule_bytes) from this
//     thread's free list, or mallocs a block of the class's full size;
//   - deallocation derives the class from the block, never from the thread: sized delete from the size
//     (the block came from that size's class), unsized delete from malloc_usable_size() (usable bytes
//     >= the class's bytes). So a block freed on another thread than the one that allocated it is simply
//     cached (or freed) by the freeing thread; every cached block is an ordinary malloc block and free()
//     remains valid for it;
//   - each class keeps at most class_cached_bytes_limit bytes and each thread thread_cached_bytes_limit
//     bytes; beyond that blocks go back to free(); the cache is freed when its thread exits.
// Larger blocks and over-aligned blocks (alignment > 16) go straight to malloc/posix_memalign/free.
//
// Off (plain malloc/free, nothing cached) when:
//   - built with a sanitizer (ASan/UBSan: meson b_sanitize defines RINGKV_SMALL_ALLOC_OFF, and
//     __SANITIZE_ADDRESS__ is checked too), so sanitizers keep their own new/delete;
//   - the environment has RINGKV_SMALL_ALLOC=0 at the first allocation (A/B measurements with one binary).
// Linked into an executable through `small_alloc_dep` (runtime/meson.build: link_whole, so the replacement
// is always pulled in). This header is only needed for the constants and the introspection below.
#pragma once

#include <cstddef>

namespace ringkv::runtime::small_alloc {

inline constexpr std::size_t granule_bytes = 16;                      // class c holds (c + 1) * 16 bytes
inline constexpr std::size_t pooled_bytes_max = 1024;                 // larger blocks are never cached
inline constexpr std::size_t size_classes = pooled_bytes_max / granule_bytes;
inline constexpr std::size_t class_cached_bytes_limit = 256 * 1024;   // per class, per thread
inline constexpr std::size_t thread_cached_bytes_limit = 4 * 1024 * 1024;  // all classes, per thread

constexpr std::size_t class_block_bytes(std::size_t size_class) noexcept {
  return (size_class + 1) * granule_bytes;
}
// The most blocks a class keeps cached on one thread.
constexpr std::size_t class_blocks_limit(std::size_t size_class) noexcept {
  return class_cached_bytes_limit / class_block_bytes(size_class);
}
// The class serving a request of `bytes` (1..pooled_bytes_max; 0 is served as 1).
constexpr std::size_t class_of_request(std::size_t bytes) noexcept {
  return bytes <= granule_bytes ? 0 : (bytes + granule_bytes - 1) / granule_bytes - 1;
}

// True when the replacement is compiled in, linked, and not switched off by RINGKV_SMALL_ALLOC=0.
bool enabled() noexcept;

// What the calling thread's cache holds now.
std::size_t cached_bytes() noexcept;
std::size_t cached_blocks(std::size_t size_class) noexcept;

// Frees every block the calling thread's cache holds (also done at thread exit).
void release_thread_cache() noexcept;

}  // namespace ringkv::runtime::small_alloc
