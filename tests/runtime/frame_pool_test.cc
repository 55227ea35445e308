// tests/runtime/frame_pool_test.cc - the per-thread coroutine frame cache: reuse by size class, the byte
// limit, frames freed on another thread than they were allocated on, and that task frames use it (except
// under AddressSanitizer, where pooling is off so ASan sees every frame).
#include "runtime/frame_pool.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "runtime/task.h"
#include "tests/runtime/runtime_test_support.h"

namespace ringkv::runtime {
namespace {

using detail::allocate_frame;
using detail::frame_cache_bytes_limit;
using detail::frame_granule_bytes;
using detail::frame_pooled_bytes_max;
using detail::free_frame;
using detail::this_thread_frames;

TEST(FramePool, FreedFrameIsReusedForTheSameSizeClassOnly) {
  void* first = allocate_frame(100);
  std::memset(first, 0xab, 128);  // the block has the class's full size (2 granules)
  free_frame(first, 100);
  void* other_class = allocate_frame(200);  // another class: not handed out
  EXPECT_NE(other_class, first);
  void* again = allocate_frame(120);  // same class (65..128 bytes)
  EXPECT_EQ(again, first);
  free_frame(again, 120);
  free_frame(other_class, 200);
}

TEST(FramePool, LargeFramesAreNotCached) {
  const std::size_t before = this_thread_frames.cached_bytes;
  void* large = allocate_frame(frame_pooled_bytes_max + 1);
  free_frame(large, frame_pooled_bytes_max + 1);
  EXPECT_EQ(this_thread_frames.cached_bytes, before);
}

TEST(FramePool, CachedBytesStayWithinTheLimit) {
  constexpr std::size_t frame_bytes = 1000;
  const std::size_t count = frame_cache_bytes_limit / frame_bytes + 100;
  std::vector<void*> frames;
  for (std::size_t i = 0; i < count; ++i) frames.push_back(allocate_frame(frame_bytes));
  for (void* f : frames) free_frame(f, frame_bytes);
  EXPECT_LE(this_thread_frames.cached_bytes, frame_cache_bytes_limit);
  EXPECT_GT(this_thread_frames.cached_bytes, frame_cache_bytes_limit - 2 * frame_pooled_bytes_max);
  for (std::size_t i = 0; i < count; ++i) frames[i] = allocate_frame(frame_bytes);  // drain it again
  for (void* f : frames) free_frame(f, frame_bytes);
}

TEST(FramePool, FramesFreedOnAnotherThreadAreCachedThereAndUsable) {
  constexpr int frames_count = 1000;
  constexpr std::size_t frame_bytes = 300;
  std::vector<void*> frames;
  for (int i = 0; i < frames_count; ++i) {
    frames.push_back(allocate_frame(frame_bytes));
    std::memset(frames.back(), i & 0xff, frame_bytes);
  }
  const std::size_t cached_here = this_thread_frames.cached_bytes;
  std::thread other([&frames] {
    for (void* f : frames) free_frame(f, frame_bytes);  // allocated on the test thread
    EXPECT_GT(this_thread_frames.cached_bytes, 0u);
    for (void*& f : frames) {  // handed out again on this thread and fully writable
      f = allocate_frame(frame_bytes);
      std::memset(f, 0x5a, frame_bytes);
    }
  });
  other.join();
  EXPECT_EQ(this_thread_frames.cached_bytes, cached_here);  // the test thread's cache is untouched
  for (void* f : frames) free_frame(f, frame_bytes);  // and back on the test thread
}

task<int> small_task(int value) { co_return value + 1; }

TEST(FramePool, TaskFramesUseTheCacheUnlessAddressSanitizerIsOn) {
  const int result = testing::run_one_shard([]() -> task<int> {
    task<int> child = small_task(41);  // its frame is allocated here
    const std::size_t before = this_thread_frames.cached_bytes;
    const int got = co_await child;
    child = task<int>();  // frees the finished frame
    const std::size_t after = this_thread_frames.cached_bytes;
    if (got != 42) co_return 1;
#if RINGKV_RUNTIME_FRAME_POOL
    co_return after > before ? 0 : 2;  // the finished frame went to the cache
#else
    co_return after == before ? 0 : 3;  // ASan build: frames go to the allocator, ASan watches them
#endif
  });
  EXPECT_EQ(result, 0);
}

}  // namespace
}  // namespace ringkv::runtime
