// tests/runtime/page_release_test.cc - release_pages_in_slices: the buffer's memory goes back to the
// kernel (resident set shrinks), a slice per loop turn (other tasks run in between), only whole pages
// inside the buffer are touched (the bytes before the first page boundary keep their values).
#include "runtime/page_release.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "tests/runtime/runtime_test_support.h"

namespace ringkv::runtime {
namespace {

using testing::run_one_shard;

long resident_bytes() {
  long pages_total = 0, pages_resident = 0;
  FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return -1;
  if (std::fscanf(statm, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = -1;
  std::fclose(statm);
  return pages_resident * ::sysconf(_SC_PAGESIZE);
}

task<void> count_turns(const bool& done, int& turns) {
  while (!done) {
    ++turns;
    co_await yield();
  }
}

TEST(PageRelease, GivesTheMemoryBackASlicePerLoopTurn) {
  constexpr size_t buffer_bytes = 4 * page_release_slice_bytes;
  constexpr size_t offset = 100;  // the released range starts at the next page boundary
  auto buffer = std::make_unique<char[]>(buffer_bytes);
  for (size_t at = 0; at < buffer_bytes; ++at) buffer[at] = static_cast<char>(1 + at % 251);
  const long resident_before = resident_bytes();
  bool done = false;
  int turns = 0;
  run_one_shard([&]() -> task<int> {
    spawn(count_turns(done, turns));
    co_await yield();
    const int turns_before = turns;
    co_await release_pages_in_slices(buffer.get() + offset, buffer_bytes - offset);
    EXPECT_GE(turns - turns_before, 3);  // the other task ran between the slices
    done = true;
    co_await yield();
    co_return 0;
  });
  const long released = resident_before - resident_bytes();
  EXPECT_GE(released, static_cast<long>(buffer_bytes - 2 * page_release_slice_bytes)) << "resident set barely shrank";
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first_page = (reinterpret_cast<uintptr_t>(buffer.get()) + offset + page - 1) / page * page;
  const size_t kept = first_page - reinterpret_cast<uintptr_t>(buffer.get());
  for (size_t at = 0; at < kept; ++at) ASSERT_EQ(buffer[at], static_cast<char>(1 + at % 251)) << at;
  EXPECT_EQ(buffer[kept + page], 0);                // released pages read as zeros
  EXPECT_EQ(buffer[buffer_bytes / 2], 0);
}

}  // namespace
}  // namespace ringkv::runtime
