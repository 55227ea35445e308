// runtime/page_release.cc - see page_release.h.
#include "runtime/page_release.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "runtime/timer.h"

namespace ringkv::runtime {

task<void> release_pages_in_slices(void* data, size_t bytes) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;  // whole pages only:
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) / page * page;      // the allocator's
  for (uintptr_t at = begin; at < end; at += page_release_slice_bytes) {              // headers stay
    const uintptr_t stop = std::min<uintptr_t>(end, at + page_release_slice_bytes);
    ::madvise(reinterpret_cast<void*>(at), stop - at, MADV_DONTNEED);  // advice: a failure frees later
    co_await yield();
  }
}

}  // namespace ringkv::runtime
