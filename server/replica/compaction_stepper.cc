// server/replica/compaction_stepper.cc — see compaction_stepper.h.
#include "server/replica/compaction_stepper.h"

#include "runtime/timer.h"

namespace ringkv::server {

runtime::task<void> compaction_stepper::run() {
  while (!stopping_) {
    if (store_.compaction_pending()) {
      store_.compaction_step();
      if (!store_.compaction_unfinished()) done_.notify_all();
      co_await runtime::yield();
    } else if (store_.compaction_unfinished()) {  // held by a snapshot in progress
      co_await runtime::sleep_for(compaction_held_recheck);
    } else {
      co_await wakeup_;
    }
  }
  done_.notify_all();
}

void compaction_stepper::stop() {
  stopping_ = true;
  wakeup_.notify();
}

runtime::task<void> compaction_stepper::finished() {
  while (!stopping_ && store_.compaction_unfinished()) co_await done_.wait();
}

}  // namespace ringkv::server
