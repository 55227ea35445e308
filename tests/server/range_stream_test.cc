// tests/server/range_stream_test.cc — server/api/range_stream: a Range reply made a slice at a time is
// byte for byte the reply built whole (limits, keys_only, old revisions, leases, deleted keys), stays
// exact while writes and compactions at or below its revision happen between slices, ends with etcd's
// compacted error when a compaction passes its revision, and is not used for small or sorted replies.
#include <gtest/gtest.h>

#include <string>

#include "server/api/range_stream.h"
#include "storage/mvcc/store.h"

namespace ringkv::server {
namespace {

using mvcc::MvccStore;

const header_ids ids{0x1234, 0x5678, 9};

// 6,000 keys of ~300 bytes (about 1.8 MB), every third overwritten, every seventh deleted, some leased.
void fill(MvccStore& store) {
  ASSERT_TRUE(store.lease_grant(77, 60, 0).ok());
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 6000; ++i) {
      if (round == 1 && i % 3 != 0) continue;
      mvcc::PutRequest put;
      put.key = "/k/" + std::to_string(100000 + i);
      put.value = std::string(280 + i % 40, char('a' + (i + round) % 26));
      if (i % 11 == 0) put.lease = 77;
      ASSERT_TRUE(store.put(put).ok());
    }
  }
  for (int i = 0; i < 6000; i += 7) {
    mvcc::DeleteRangeRequest del;
    del.key = "/k/" + std::to_string(100000 + i);
    ASSERT_TRUE(store.delete_range(del).ok());
  }
}

mvcc::RangeRequest prefix_request() {
  mvcc::RangeRequest r;
  r.key = "/k/";
  r.range_end = "/k0";
  return r;
}

std::string whole_reply(const MvccStore& store, const mvcc::RangeRequest& r) {
  auto result = store.range_view(r);
  EXPECT_TRUE(result.ok());
  etcdserverpb::RangeResponse response;
  to_proto(result.value(), ids, &response);
  return response.SerializeAsString();
}

// The slices joined; `between` runs after each slice.
std::string streamed_reply_bytes(streamed_reply& reply, const std::function<void()>& between = {}) {
  std::string out;
  size_t slices = 0;
  while (!reply.done()) {
    EXPECT_TRUE(reply.next(out, streamed_reply_slice_bytes).ok());
    ++slices;
    if (between) between();
  }
  EXPECT_GT(slices, 2u);  // it really was made in slices
  EXPECT_EQ(out.size(), reply.total_bytes());
  return out;
}

TEST(RangeStream, SameBytesAsTheWholeReply) {
  MvccStore store;
  fill(store);
  for (int variant = 0; variant < 5; ++variant) {
    mvcc::RangeRequest r = prefix_request();
    if (variant == 1) r.limit = 4500;                  // more = true
    if (variant == 2) r.keys_only = true, r.range_end = std::string(1, '\0'), r.key = std::string(1, '\0');
    if (variant == 3) r.revision = 6000;               // before the overwrites and deletes
    if (variant == 4) r.sort_order = mvcc::SortOrder::ascend;  // by key: the same order
    if (variant == 2) {  // keys only are small: a big enough key space for a streamed reply
      for (int i = 0; i < 60000; ++i) {
        mvcc::PutRequest put;
        put.key = "/many/" + std::to_string(1000000 + i);
        ASSERT_TRUE(store.put(put).ok());
      }
    }
    auto planned = plan_range_stream(store, r, ids);
    ASSERT_TRUE(planned.ok());
    ASSERT_TRUE(planned.value()) << "variant " << variant;
    std::string expected = whole_reply(store, r);
    EXPECT_EQ(planned.value()->total_bytes(), expected.size()) << "variant " << variant;
    EXPECT_EQ(streamed_reply_bytes(*planned.value()), expected) << "variant " << variant;
  }
}

TEST(RangeStream, WritesAndCompactionsAtOrBelowItsRevisionChangeNothing) {
  MvccStore store;
  fill(store);
  mvcc::RangeRequest r = prefix_request();
  std::string expected = whole_reply(store, r);
  mvcc::revision_t read_at = store.current_revision();
  auto planned = plan_range_stream(store, r, ids);
  ASSERT_TRUE(planned.ok() && planned.value());
  int step = 0;
  std::string got = streamed_reply_bytes(*planned.value(), [&] {
    mvcc::PutRequest put;  // new versions of keys not yet sent and of keys already sent, and a new key
    put.key = "/k/" + std::to_string(100000 + (step * 997) % 6000);
    put.value = "changed";
    ASSERT_TRUE(store.put(put).ok());
    put.key = "/k/new" + std::to_string(step++);
    ASSERT_TRUE(store.put(put).ok());
    if (step == 2) {  // a compaction at the read revision, carried out at once
      ASSERT_TRUE(store.compact(read_at).ok());
      while (store.compaction_unfinished()) store.compaction_step();
    }
  });
  EXPECT_EQ(got, expected);
}

TEST(RangeStream, ACompactionPastItsRevisionEndsItWithEtcdsError) {
  MvccStore store;
  fill(store);
  mvcc::RangeRequest r = prefix_request();
  r.revision = store.current_revision() - 10;
  auto planned = plan_range_stream(store, r, ids);
  ASSERT_TRUE(planned.ok() && planned.value());
  std::string out;
  ASSERT_TRUE(planned.value()->next(out, streamed_reply_slice_bytes).ok());
  ASSERT_TRUE(store.compact(store.current_revision()).ok());
  rpc_status status = planned.value()->next(out, streamed_reply_slice_bytes);
  EXPECT_EQ(status, etcd_errors::compacted());
}

TEST(RangeStream, SmallSortedFilteredOrBadRequestsAreNotStreamed) {
  MvccStore store;
  fill(store);
  mvcc::RangeRequest r = prefix_request();
  r.limit = 10;  // small
  EXPECT_FALSE(plan_range_stream(store, r, ids).value());
  r = prefix_request();
  r.sort_order = mvcc::SortOrder::descend;
  EXPECT_FALSE(plan_range_stream(store, r, ids).value());
  r = prefix_request();
  r.min_mod_revision = 2;
  EXPECT_FALSE(plan_range_stream(store, r, ids).value());
  r = prefix_request();
  r.count_only = true;
  EXPECT_FALSE(plan_range_stream(store, r, ids).value());
  r = prefix_request();
  r.range_end.clear();  // one key
  EXPECT_FALSE(plan_range_stream(store, r, ids).value());
  r = prefix_request();
  r.revision = store.current_revision() + 1;
  EXPECT_EQ(plan_range_stream(store, r, ids).error(), mvcc::Errc::future_revision);
}

}  // namespace
}  // namespace ringkv::server
