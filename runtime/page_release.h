// runtime/page_release.h - giving a large buffer's memory back to the kernel a slice per loop turn.
// Freeing a buffer of hundreds of megabytes unmaps every page in one call (about 70 ms for 328 MB on
// the 2-core CI machine), a stall for every request of the shard. release_pages_in_slices() drops
// the whole pages inside [data, data + bytes) with madvise(MADV_DONTNEED), a slice at a time with a
// yield between slices, so the final free has almost nothing left to unmap.
// Precondition: the caller is the only user of the buffer and frees it right after; its contents
// read as zeros once released.
#pragma once

#include <cstddef>

#include "runtime/task.h"

namespace ringkv::runtime {

inline constexpr size_t page_release_slice_bytes = 16 << 20;  // a few milliseconds of unmapping

task<void> release_pages_in_slices(void* data, size_t bytes);

}  // namespace ringkv::runtime
