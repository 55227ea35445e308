// server/api/auto_compactor.cc — see auto_compactor.h.
#include "server/api/auto_compactor.h"

#include <deque>

#include "runtime/log.h"
#include "runtime/timer.h"

namespace ringkv::server {

bool auto_compaction_enabled(const server_config& config) {
  return config.compaction_period().count() > 0 || config.compaction_revisions() > 0;
}

runtime::task<void> run_auto_compactor(replica& member, runtime::cancel_token* stop) {
  const server_config& config = member.config();
  const mvcc::MvccStore& store = member.store();
  const int64_t keep_revisions = config.compaction_revisions();
  const auto period = config.compaction_period();
  const auto interval = keep_revisions > 0 ? std::chrono::milliseconds(std::chrono::minutes(5))
                                           : std::max<std::chrono::milliseconds>(period / 10, std::chrono::seconds(1));
  std::deque<int64_t> samples;  // revisions seen at each interval, oldest first (periodic mode)
  const size_t samples_per_period = 10;
  while (!member.stopping()) {
    int slept = co_await runtime::sleep_for(interval, stop);
    if (slept != 0 || member.stopping()) break;
    if (!member.driver().is_leader()) continue;
    int64_t target = 0;
    if (keep_revisions > 0) {
      target = store.current_revision() - keep_revisions;
    } else {
      samples.push_back(store.current_revision());
      if (samples.size() <= samples_per_period) continue;
      target = samples.front();
      samples.pop_front();
    }
    if (target <= store.compact_revision() || target <= 0) continue;
    etcdserverpb::CompactionRequest request;
    request.set_revision(target);
    apply_result outcome = co_await member.propose(proposal_kind::compaction, request.SerializeAsString());
    if (outcome.status.ok()) log::info("auto compaction done", {{"revision", target}});
    else log::warn("auto compaction failed", {{"revision", target}, {"error", outcome.status.message}});
  }
}

}  // namespace ringkv::server
