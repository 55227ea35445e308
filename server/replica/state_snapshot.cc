// server/replica/state_snapshot.cc — begin_state_snapshot: wrap_snapshot's prefix, then kv_applier's bytes.
#include "server/replica/state_snapshot.h"

#include <memory>

namespace ringkv::server {

snapshot_stepper begin_state_snapshot(const membership& members, const kv_applier& applier, std::string& out) {
  using store = storage::mvcc::MvccStore;
  out += wrap_snapshot(members, {});  // the membership section; the state machine's bytes follow it
  auto snapshotter = std::make_shared<store::Snapshotter>(applier.begin_snapshot(out));
  return [snapshotter]() {
    switch (snapshotter->step(snapshot_slice_bytes)) {
      case store::SnapshotStep::more: return snapshot_step::more;
      case store::SnapshotStep::done: return snapshot_step::done;
      case store::SnapshotStep::abandoned: break;
    }
    return snapshot_step::abandoned;
  };
}

bool state_snapshot_decodes(std::string_view data) {
  unwrapped_snapshot unwrapped = unwrap_snapshot(data);
  return unwrapped.valid && kv_applier::snapshot_decodes(unwrapped.state);
}

}  // namespace ringkv::server
