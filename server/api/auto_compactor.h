// server/api/auto_compactor.h — etcd's automatic compaction (--auto-compaction-mode/-retention): the
// leader proposes compactions as KV.Compact would, until the member stops.
//   revision mode: keeps the last N revisions, checked every 5 minutes;
//   periodic mode: keeps the history of the last period, sampling the revision every period/10 and
//                  compacting to the revision seen one period ago.
#pragma once

#include "runtime/cancel.h"
#include "runtime/task.h"
#include "server/replica/replica.h"

namespace ringkv::server {

// True when the configuration asks for automatic compaction.
bool auto_compaction_enabled(const server_config& config);
// Until the member stops or `stop` is cancelled (its wait between checks can be minutes long).
runtime::task<void> run_auto_compactor(replica& member, runtime::cancel_token* stop);

}  // namespace ringkv::server
