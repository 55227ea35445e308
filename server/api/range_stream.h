// server/api/range_stream.h — Range replies of range_stream_min_bytes and more, made a slice at a time as
// the client takes them instead of whole in memory (issue 16: `etcdctl get "" --prefix` over 1M keys).
//
// The reply is byte for byte what the whole-reply path sends (etcd's field order: header, kvs, more,
// count). A first pass over the range counts the keys and sizes the reply without copying anything;
// then each slice visits the key space again at the same revision from the key after the last one sent.
// That read stays exact while the store was not restored from a snapshot and no compaction passed the
// revision (a compaction at or below it keeps every version the read needs); otherwise the call ends
// with etcd's compacted error. Nothing is held: writes and compactions go on between slices.
#pragma once

#include <memory>

#include "server/common/streamed_reply.h"
#include "server/replica/kv_convert.h"
#include "storage/mvcc/store.h"

namespace ringkv::server {

inline constexpr size_t range_stream_min_bytes = size_t{1} << 20;      // smaller replies are built whole

// The streamed reply for `r`, or null when it is built whole: a single key, count_only, a sort other
// than by key ascending, revision filters, or a reply under range_stream_min_bytes. The store must
// outlive the reply. Errors are the request's own (future or compacted revision, bad request).
mvcc::Result<std::shared_ptr<streamed_reply>> plan_range_stream(const mvcc::MvccStore& store,
                                                                const mvcc::RangeRequest& r, const header_ids& ids);

}  // namespace ringkv::server
