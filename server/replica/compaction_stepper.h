// server/replica/compaction_stepper.h — releases a compaction's memory in bounded steps between the
// raft shard's other work, as etcd's compactor does in batches (--experimental-compaction-batch-limit)
// with a pause between them. Applying Compact only sets the compaction point (reads below it fail at
// once, MvccStore::compact); this task then runs one MvccStore::compaction_step() (StoreConfig's
// compaction_step_keys keys and compaction_step_log_entries history entries) per turn of the shard's
// loop and yields, so requests, applies and raft I/O go on in between. Compact(physical=true) answers
// once the steps are done (finished()).
//
//   apply Compact -> wake() -> run(): step, yield, step, yield ... done: finished() waiters go on
//   a snapshot in progress holds the steps (compaction_pending() false): run() looks again every
//   compaction_held_recheck.
#pragma once

#include <chrono>

#include "runtime/condition.h"
#include "runtime/notifier.h"
#include "runtime/task.h"
#include "storage/mvcc/store.h"

namespace ringkv::server {

// How often run() looks again while a snapshot in progress holds a compaction's steps.
inline constexpr std::chrono::milliseconds compaction_held_recheck{10};

class compaction_stepper {
 public:
  explicit compaction_stepper(storage::mvcc::MvccStore& store) : store_(store) {}

  void wake() { wakeup_.notify(); }  // a compaction was applied
  runtime::task<void> run();         // on the raft shard, until stop()
  void stop();
  // Returns once no compaction is unfinished (or the stepper stopped).
  runtime::task<void> finished();

 private:
  storage::mvcc::MvccStore& store_;
  runtime::notifier wakeup_;
  runtime::condition done_;  // notified when the steps finish, and at stop()
  bool stopping_ = false;
};

}  // namespace ringkv::server
