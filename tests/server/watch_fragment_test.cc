// tests/server/watch_fragment_test.cc — plan_watch_fragments splits as etcd 3.4's sendFragments does:
// whole under the limit or with one event, otherwise greedy pieces under the limit, at least one event
// each, every event exactly once and in order.
#include "server/api/watch_fragment.h"

#include <gtest/gtest.h>

namespace ringkv::server {
namespace {

using ends = std::vector<size_t>;

TEST(WatchFragment, SmallOrSingleEventGoesWhole) {
  std::vector<size_t> events{100, 100, 100};
  EXPECT_EQ(plan_watch_fragments(320, 20, events, 1000), ends{3});
  std::vector<size_t> one{5000};
  EXPECT_EQ(plan_watch_fragments(5020, 20, one, 1000), ends{1});
}

TEST(WatchFragment, GreedyPiecesUnderTheLimit) {
  // base 20: pieces of 20+300+300+300 = 920 < 1000; a fourth event would reach 1220.
  std::vector<size_t> events(10, 300);
  EXPECT_EQ(plan_watch_fragments(3020, 20, events, 1000), (ends{3, 6, 9, 10}));
  // A piece reaching exactly the limit is too big (etcd: Size() >= max ends the piece).
  std::vector<size_t> exact{490, 490, 490};
  EXPECT_EQ(plan_watch_fragments(1490, 20, exact, 1000), (ends{1, 2, 3}));
}

TEST(WatchFragment, OversizedEventTravelsAlone) {
  std::vector<size_t> events{100, 5000, 100, 100};
  EXPECT_EQ(plan_watch_fragments(5320, 20, events, 1000), (ends{1, 2, 4}));
}

}  // namespace
}  // namespace ringkv::server
