// tests/runtime/small_alloc_test.cc - the replacement global operator new/delete (runtime/small_alloc.h):
// every size and alignment variant round-trips with usable, correctly aligned memory; freed blocks are
// reused for their size class; blocks freed on another thread are cached by that thread and reused there;
// the per-class and per-thread bounds hold; large and over-aligned blocks are never cached; and under
// sanitizers the replacement is off.
#include "runtime/small_alloc.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace ringkv::runtime::small_alloc {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(RINGKV_SMALL_ALLOC_OFF)
constexpr bool sanitized_build = true;
#else
constexpr bool sanitized_build = false;
#endif

#define SKIP_UNLESS_CACHING()                                                            \
  do {                                                                                   \
    if (!enabled()) GTEST_SKIP() << "small_alloc is off (sanitizer build or RINGKV_SMALL_ALLOC=0)"; \
  } while (0)

bool aligned_to(const void* p, std::size_t alignment) {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

TEST(SmallAlloc, OnExactlyWhenNotSanitized) {
  if (const char* setting = std::getenv("RINGKV_SMALL_ALLOC"); setting != nullptr && std::strcmp(setting, "0") == 0) {
    EXPECT_FALSE(enabled());
  } else {
    EXPECT_EQ(enabled(), !sanitized_build);
  }
}

TEST(SmallAlloc, EverySizeAndVariantRoundTripsWithUsableAlignedMemory) {
  for (std::size_t bytes = 0; bytes <= 2 * pooled_bytes_max + 64; bytes += (bytes < 128 ? 1 : 7)) {
    const auto fill = static_cast<unsigned char>(bytes);
    void* plain = ::operator new(bytes);
    void* array = ::operator new[](bytes);
    void* nothrow_plain = ::operator new(bytes, std::nothrow);
    void* nothrow_array = ::operator new[](bytes, std::nothrow);
    for (void* p : {plain, array, nothrow_plain, nothrow_array}) {
      ASSERT_NE(p, nullptr);
      ASSERT_TRUE(aligned_to(p, __STDCPP_DEFAULT_NEW_ALIGNMENT__)) << bytes;
      std::memset(p, fill, bytes);
    }
    ASSERT_NE(plain, array);
    for (void* p : {plain, array, nothrow_plain, nothrow_array}) {
      for (std::size_t i = 0; i < bytes; ++i) ASSERT_EQ(static_cast<unsigned char*>(p)[i], fill);
    }
    ::operator delete(plain, bytes);  // sized
    ::operator delete[](array);       // unsized
    ::operator delete(nothrow_plain, std::nothrow);
    ::operator delete[](nothrow_array, bytes);
  }
}

TEST(SmallAlloc, EveryAlignmentVariantRoundTrips) {
  for (std::size_t alignment = 1; alignment <= 4096; alignment *= 2) {
    const auto align = std::align_val_t{alignment};
    for (std::size_t bytes : {std::size_t{0}, std::size_t{1}, std::size_t{24}, std::size_t{100},
                              pooled_bytes_max, std::size_t{5000}}) {
      void* a = ::operator new(bytes, align);
      void* b = ::operator new[](bytes, align);
      void* c = ::operator new(bytes, align, std::nothrow);
      void* d = ::operator new[](bytes, align, std::nothrow);
      for (void* p : {a, b, c, d}) {
        ASSERT_NE(p, nullptr);
        ASSERT_TRUE(aligned_to(p, alignment)) << "alignment " << alignment << " bytes " << bytes;
        std::memset(p, 0x5a, bytes);
      }
      ::operator delete(a, align);
      ::operator delete[](b, bytes, align);
      ::operator delete(c, align, std::nothrow);
      ::operator delete[](d, align, std::nothrow);
    }
  }
}

TEST(SmallAlloc, FreedBlockIsReusedForItsSizeClass) {
  SKIP_UNLESS_CACHING();
  void* first = ::operator new(100);                    // class of 97..112 bytes
  ::operator delete(first);
  void* same_class = ::operator new(112);
  void* other_class = ::operator new(100);              // the list of that class is empty again
  ::operator delete(other_class);
  ::operator delete(same_class);
  EXPECT_EQ(same_class, first);
  EXPECT_NE(other_class, first);
}

TEST(SmallAlloc, SizedDeleteCachesInTheClassOfTheRequest) {
  SKIP_UNLESS_CACHING();
  release_thread_cache();
  void* first = ::operator new(300);  // class 18 (289..304 bytes)
  ::operator delete(first, 300);
  const std::size_t cached_in_class = cached_blocks(class_of_request(300));
  void* again = ::operator new(290);
  ::operator delete(again, 290);
  EXPECT_EQ(cached_in_class, 1u);
  EXPECT_EQ(again, first);
}

TEST(SmallAlloc, LargeAndOverAlignedBlocksAreNotCached) {
  SKIP_UNLESS_CACHING();
  release_thread_cache();
  void* large = ::operator new(pooled_bytes_max * 4);
  void* over_aligned = ::operator new(64, std::align_val_t{64});
  ::operator delete(large);
  ::operator delete(over_aligned, std::align_val_t{64});
  const std::size_t bytes_after = cached_bytes();
  EXPECT_EQ(bytes_after, 0u);
}

TEST(SmallAlloc, ClassAndThreadBoundsHold) {
  SKIP_UNLESS_CACHING();
  release_thread_cache();
  constexpr std::size_t small_class = 1;  // 17..32 bytes
  const std::size_t over_limit = class_blocks_limit(small_class) + 100;
  std::vector<void*> blocks;
  blocks.reserve(over_limit);
  for (std::size_t i = 0; i < over_limit; ++i) blocks.push_back(::operator new(32));
  for (void* p : blocks) ::operator delete(p);
  const std::size_t cached_small = cached_blocks(small_class);
  EXPECT_EQ(cached_small, class_blocks_limit(small_class));

  // Fill every class to its limit: the thread total stays within its own limit.
  std::vector<void*> all;
  for (std::size_t c = 0; c < size_classes; ++c) {
    for (std::size_t i = 0; i < class_blocks_limit(c); ++i) all.push_back(::operator new(class_block_bytes(c)));
  }
  for (void* p : all) ::operator delete(p);
  const std::size_t total = cached_bytes();
  EXPECT_LE(total, thread_cached_bytes_limit);
  EXPECT_GT(total, thread_cached_bytes_limit - pooled_bytes_max);
  release_thread_cache();
  EXPECT_EQ(cached_bytes(), 0u);
}

// Frees `blocks` on the calling thread (with an empty cache), then checks every one was cached and is handed
// out again by allocations of the classes they were cached in. glibc may return a chunk somewhat larger
// than asked (a split remainder too small to keep), so a block can land in a higher class than the one
// it was allocated for: the class always comes from the block's usable size.
void expect_freed_blocks_cached_and_reused(const std::vector<void*>& blocks) {
  std::vector<std::size_t> per_class(size_classes);  // allocated before the cache is emptied and counted
  std::vector<void*> again;
  again.reserve(blocks.size());
  release_thread_cache();
  for (void* p : blocks) ::operator delete(p);
  std::size_t cached = 0;
  for (std::size_t c = 0; c < size_classes; ++c) cached += per_class[c] = cached_blocks(c);
  EXPECT_EQ(cached, blocks.size());
  for (std::size_t c = 0; c < size_classes; ++c) {
    for (std::size_t i = 0; i < per_class[c]; ++i) again.push_back(::operator new(class_block_bytes(c)));
  }
  std::size_t reused = 0;
  for (void* p : again) {
    for (void* q : blocks) reused += (p == q);
    std::memset(p, 0x22, 200);
  }
  EXPECT_EQ(reused, blocks.size());
  for (void* p : again) ::operator delete(p);
}

TEST(SmallAlloc, BlocksFreedOnAnotherThreadAreCachedAndReusedThere) {
  SKIP_UNLESS_CACHING();
  constexpr std::size_t block_count = 500;
  constexpr std::size_t request_bytes = 200;  // class 12 (193..208 bytes)
  std::vector<void*> from_main;
  for (std::size_t i = 0; i < block_count; ++i) {
    void* p = ::operator new(request_bytes);
    std::memset(p, 0x11, request_bytes);
    from_main.push_back(p);
  }
  // The thread exits holding cached blocks: its drainer frees them (ASan/valgrind would see a leak).
  std::thread other([&] { expect_freed_blocks_cached_and_reused(from_main); });
  other.join();

  // And the other way: blocks allocated on a thread that has exited are freed and reused here.
  std::vector<void*> from_thread;
  from_thread.reserve(block_count);
  std::thread producer([&] {
    for (std::size_t i = 0; i < block_count; ++i) from_thread.push_back(::operator new(request_bytes));
  });
  producer.join();
  expect_freed_blocks_cached_and_reused(from_thread);
  release_thread_cache();
}

TEST(SmallAlloc, ContainersAndStringsWork) {
  // Ordinary C++ through the replacement: many sizes alive at once, across a thread hand-off.
  std::vector<std::string> strings;
  for (int i = 0; i < 20000; ++i) strings.push_back(std::string(static_cast<std::size_t>(i % 700), 'a' + i % 26));
  std::thread consumer([moved = std::move(strings)]() mutable {
    for (std::size_t i = 0; i < moved.size(); ++i) {
      ASSERT_EQ(moved[i].size(), i % 700);
      if (!moved[i].empty()) {
        ASSERT_EQ(moved[i][0], static_cast<char>('a' + i % 26));
      }
    }
    moved.clear();
  });
  consumer.join();
}

}  // namespace
}  // namespace ringkv::runtime::small_alloc
