// server/replica/raft_driver.cc — the raft loop of raft_driver.h.
#include "server/replica/raft_driver.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <random>
#include <stdexcept>

#include "runtime/page_release.h"
#include "runtime/reactor.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "runtime/log.h"
#include "server/replica/membership.h"
#include "server/replica/raft_state_log.h"
#include "server/common/server_metrics.h"
#include "server/replica/snapshot_policy.h"
#include "server/replica/state_snapshot.h"

namespace ringkv::server {

raft_driver::raft_driver(raft::Config raft_config, raft::PersistedState persisted, replicated_state& state,
                         log_storage& storage, raft_driver_limits limits)
    : raft_(std::move(raft_config), std::move(persisted)), state_(state), storage_(storage), limits_(limits) {
  applied_index_ = raft_.log().applied;
  snapshot_index_ = raft_.log().snapshot_index();
  if (auto loaded = raft_.snapshot()) snapshot_bytes_ = loaded->data.size();
  // Request ids only need to be unique among this process's waiters; a random start keeps them apart
  // from the ids replayed from the WAL of earlier runs.
  std::random_device random;
  next_request_id_ = (uint64_t(random()) << 32 | random()) | 1;
}

void raft_driver::stop() {
  stopping_ = true;
  wake_.notify();
}

runtime::task<apply_result> raft_driver::propose(proposal_kind kind, std::string message) {
  if (stopping_) co_return apply_result{etcd_errors::stopped(), {}, {}};
  if (queued_.size() >= limits_.queued_proposals_max) co_return apply_result{etcd_errors::too_many_requests(), {}, {}};
  runtime::completion<apply_result> done;
  request_id_t id = next_request_id_++;
  raft::SharedBytes payload = raft::SharedBytes::copy_of(std::string_view(encode_payload(kind, id, message)));
  if (!raft_.entry_fits(payload)) co_return apply_result{etcd_errors::request_too_large(), {}, {}};  // WAL limit
  queued_.push_back({std::move(payload), id});
  waiting_[id] = {&done, std::chrono::steady_clock::now() + limits_.request_timeout};
  node_metrics().proposals_pending.add(1);
  wake_.notify();
  apply_result result = co_await done;
  node_metrics().proposals_pending.add(-1);
  if (!result.status.ok()) node_metrics().proposals_failed.inc();
  co_return result;
}

runtime::task<rpc_status> raft_driver::read_barrier() {
  if (stopping_) co_return etcd_errors::stopped();
  runtime::completion<rpc_status> done;
  reads_queued_.push_back(&done);
  wake_.notify();
  co_return co_await done;
}

runtime::task<rpc_status> raft_driver::propose_conf_change(raft::ConfChange change) {
  // Membership changes are idempotent (adding a member twice, or removing one twice, changes nothing
  // more), so an attempt that was lost - a follower's proposal the leader refused while another change
  // was pending (raft turns it into an empty entry), or an entry a new leader truncated - is simply
  // proposed again after a while, until the request timeout.
  const auto deadline = std::chrono::steady_clock::now() + limits_.request_timeout;
  const auto attempt_interval = limits_.tick_interval * conf_change_attempt_ticks;
  while (true) {
    if (stopping_) co_return etcd_errors::stopped();
    raft::ProposeResult result = raft_.propose_conf_change(change);
    if (result.status == raft::ProposeStatus::kInvalid) co_return member_errors::not_found();
    if (result.status == raft::ProposeStatus::kAccepted) {
      runtime::completion<rpc_status> done;
      conf_waiters_.push_back({change, &done, std::min(deadline, std::chrono::steady_clock::now() + attempt_interval)});
      wake_.notify();
      rpc_status status = co_await done;
      if (status.ok() || status != etcd_errors::timeout()) co_return status;
    } else {  // another change pending, a transfer, no leader: try again next tick
      int slept = co_await runtime::sleep_for(limits_.tick_interval);
      if (slept != 0) co_return etcd_errors::stopped();
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return etcd_errors::timeout();
  }
}

std::optional<raft::Index> raft_driver::match_index(raft::NodeId member) const {
  if (!is_leader()) return std::nullopt;
  if (member == raft_.id()) return raft_.log().last_index();
  const raft::Progress* progress = raft_.progress(member);
  if (progress == nullptr) return std::nullopt;
  return progress->match;
}

void raft_driver::connect_peers(std::function<void(const raft::Message& message)> send) {
  send_ = std::move(send);
}

void raft_driver::step(raft::Message&& message) {
  if (stopping_) return;
  raft_.step(std::move(message));
  wake_.notify();
}

void raft_driver::report_unreachable(raft::NodeId peer) {
  if (stopping_) return;
  raft_.report_unreachable(peer);
  wake_.notify();
}

void raft_driver::report_snapshot(raft::NodeId peer, raft::SnapshotStatus status) {
  if (stopping_) return;
  raft_.report_snapshot(peer, status);
  wake_.notify();
}

void raft_driver::transfer_leadership(raft::NodeId member) {
  if (stopping_) return;
  raft_.transfer_leadership(member);
  wake_.notify();
}

bool raft_driver::is_voter(raft::NodeId member) const {
  const auto& voters = raft_.conf().voters;
  return std::find(voters.begin(), voters.end(), member) != voters.end();
}

runtime::task<void> raft_driver::ticker() {
  ticker_running_ = true;
  while (!stopping_) {
    int slept = co_await runtime::sleep_for(limits_.tick_interval);
    if (slept != 0) break;  // runtime shutting down
    ++ticks_due_;
    wake_.notify();
  }
  ticker_running_ = false;
  stop();
}

void raft_driver::persist_failed(const char* what) {
  // Durability is sacred: nothing after a failed WAL write is acknowledged, and it is not retried.
  log::error("WAL write failed; stopping the node", {{"error", what}});
  fail_all(etcd_errors::stopped());
  stop();
  runtime::request_stop();
}

runtime::task<void> raft_driver::await_persisted(runtime::task<void> durable, raft::PersistSeq seq) {
  std::string failure;
  try {
    co_await std::move(durable);
  } catch (const std::exception& error) {
    failure = error.what();
  }
  --persists_in_flight_;
  if (!failure.empty()) {
    persist_failed(failure.c_str());
    wake_.notify();
    co_return;
  }
  // Writes complete in order; once none is in flight, commit-only states issued meanwhile count too.
  mark_persisted_upto(persists_in_flight_ == 0 ? std::max(seq, commit_only_seq_) : seq);
  wake_.notify();
}

namespace {

constexpr size_t snapshot_bytes_limit = UINT32_MAX;     // raft::SharedBytes and snapshot messages

// The snapshot raft just replaced, once nothing else holds it (no message to a follower carries it):
// its pages are given back a slice per loop turn instead of in one unmapping when it is freed.
runtime::task<void> free_in_slices(std::shared_ptr<const raft::Snapshot> snapshot) {
  co_await runtime::release_pages_in_slices(const_cast<uint8_t*>(snapshot->data.data()), snapshot->data.size());
}

void release_in_slices(std::shared_ptr<const raft::Snapshot> replaced) {
  if (!replaced || replaced.use_count() != 1 || !replaced->data.sole_reference()) return;  // freed by its holder
  if (replaced->data.size() < runtime::page_release_slice_bytes) return;                 // cheap to free at once
  runtime::spawn(free_in_slices(std::move(replaced)));
}

}  // namespace

void raft_driver::maybe_snapshot() {
  if (snapshot_in_flight_ || stopping_) return;
  const snapshot_progress progress{applied_index_, snapshot_index_, snapshot_bytes_, applied_bytes_since_snapshot_};
  if (!snapshot_due(progress, limits_.snapshot_entries)) return;
  auto term = raft_.log().term(applied_index_);
  if (!term) return;
  snapshot_in_flight_ = true;
  // Begun here, between applied entries, so the bytes are the state at applied_index_; the slices
  // are made and written to the file by take_snapshot with the loop's other work in between.
  auto data = std::make_unique<std::string>();
  data->reserve(storage::wal::snapshot_append_bytes + 2 * snapshot_slice_bytes);
  snapshot_stepper stepper = state_.begin_snapshot(*data);
  runtime::spawn(take_snapshot(applied_index_, *term, std::move(data), std::move(stepper)));
}

// Serializes the state a slice per loop turn into the snapshot file (2 MiB written and synced at a
// time), then hands raft the saved file, mapped: the member never holds a second copy of its state.
runtime::task<void> raft_driver::take_snapshot(raft::Index index, raft::Term term, std::unique_ptr<std::string> data,
                                        snapshot_stepper stepper) {
  ++persists_in_flight_;  // stop() waits for it like for a WAL write
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  auto writing = clock::duration::zero();
  std::string failure;
  std::optional<storage::wal::snapshot_mapping> saved;
  uint64_t bytes = 0;
  try {
    storage::wal::snapshot_writer file = co_await storage_.begin_snapshot(index, term);
    snapshot_step step = snapshot_step::more;
    while (!stopping_ && (step = stepper()) == snapshot_step::more) {
      if (data->size() < storage::wal::snapshot_append_bytes) {
        co_await runtime::yield();
        continue;
      }
      const auto write_start = clock::now();
      co_await file.append(*data);
      data->clear();
      writing += clock::now() - write_start;
    }
    stepper = nullptr;  // ends the state machine's snapshot: its physical compaction may go on
    if (step != snapshot_step::done) {
      failure = stopping_ ? "the member is stopping" : "the state was replaced by the leader's snapshot";
    } else if (file.payload_bytes() + data->size() > snapshot_bytes_limit) {
      failure = "the state is larger than a raft snapshot can carry (4 GiB); lower --quota-backend-bytes or compact";
    } else {
      const auto write_start = clock::now();
      co_await file.append(*data);
      bytes = file.payload_bytes();
      saved.emplace(co_await storage_.commit_snapshot(file));
      writing += clock::now() - write_start;
    }
  } catch (const std::exception& error) {
    failure = error.what();
  }
  stepper = nullptr;
  data.reset();
  --persists_in_flight_;
  snapshot_in_flight_ = false;
  if (!failure.empty()) {
    log::warn("snapshot not taken; the WAL keeps every entry", {{"index", index}, {"error", failure}});
  } else {
    using ms = std::chrono::milliseconds;
    log::info("saved snapshot", {{"index", index}, {"term", term}, {"bytes", bytes},
                                 {"total-ms", uint64_t(std::chrono::duration_cast<ms>(clock::now() - started).count())},
                                 {"write-ms", uint64_t(std::chrono::duration_cast<ms>(writing).count())}});
    snapshot_index_ = index;
    snapshot_bytes_ = bytes;
    applied_bytes_since_snapshot_ = 0;
    // raft keeps the snapshot for members that fall behind: the file's pages, not a copy in memory
    auto file = std::make_shared<storage::wal::snapshot_mapping>(std::move(*saved));
    const std::string_view payload = file->payload();
    compact_pending_.emplace(index, raft::SharedBytes::adopt(reinterpret_cast<const uint8_t*>(payload.data()),
                                                             payload.size(), [file] {}));
  }
  wake_.notify();
}

bool raft_driver::install_snapshot(const raft::Snapshot& snapshot) {
  if (!state_.restore_snapshot(snapshot.meta.index, snapshot.data.view())) return false;
  log::info("installed snapshot from the leader", {{"index", snapshot.meta.index}, {"term", snapshot.meta.term}});
  applied_index_ = snapshot.meta.index;
  snapshot_index_ = snapshot.meta.index;
  snapshot_bytes_ = snapshot.data.size();
  applied_bytes_since_snapshot_ = 0;
  state_.entries_applied();
  return true;
}

runtime::task<void> raft_driver::install_durably(raft::Index index, raft::Term term, raft::SharedBytes data,
                                          std::optional<raft::HardState> hard_state,
                                          std::vector<raft::Entry> entries) {
  struct clear_on_exit {
    bool& flag;
    ~clear_on_exit() { flag = false; }
  } installing{installing_snapshot_};
  co_await storage_.save_snapshot(index, term, data.view());  // file, WAL marker, covered segments
  co_await storage_.append(hard_state, entries);
}

void raft_driver::mark_persisted_upto(raft::PersistSeq seq) {
  if (seq <= persisted_seq_) return;
  persisted_seq_ = seq;
  raft_.mark_persisted(seq);
}

void raft_driver::flush_deferred_hard_state() {
  if (!deferred_hard_state_ || stopping_) return;
  try {
    runtime::task<void> durable = storage_.append(deferred_hard_state_, {});
    deferred_hard_state_.reset();
    ++persists_in_flight_;
    runtime::spawn(await_persisted(std::move(durable), persisted_seq_));
  } catch (const std::exception& error) {
    persist_failed(error.what());
  }
}

runtime::task<void> raft_driver::run() {
  runtime::spawn(ticker());
  const auto& conf = raft_.conf();
  raft_soft_state seen = log_soft_state_changes(raft_.id(), {}, soft_state_of(raft_));  // a restart's term
  if (conf.voters.size() == 1 && conf.voters[0] == raft_.id() && raft_.role() != raft::Role::kLeader)
    raft_.campaign();  // a single voter need not wait an election timeout
  wake_.notify();      // first turn now: persist the vote, become leader
  bool had_leader = false;
  bool was_leader = false;
  while (!stopping_) {
    co_await wake_;
    turn();
    const raft_soft_state now = soft_state_of(raft_);
    if (!(now == seen)) soft_state_changed_.notify_all();
    seen = log_soft_state_changes(raft_.id(), seen, now);  // "became leader", "lost leader"
    if (is_leader() != was_leader) {
      was_leader = is_leader();
      state_.leadership_changed(was_leader);
    }
    bool has_leader = raft_.leader() != raft::kNoNode;
    if (has_leader != had_leader) {
      node_metrics().has_leader.set(has_leader ? 1 : 0);
      node_metrics().is_leader.set(is_leader() ? 1 : 0);
      if (has_leader) node_metrics().leader_changes.inc();
      had_leader = has_leader;
    }
  }
  fail_all(etcd_errors::stopped());
  soft_state_changed_.notify_all();  // waiters re-check and see stopping()
  stopping_ = false;  // one last write: the commit index, so a restart re-applies nothing it need not
  if (persists_in_flight_ == 0) flush_deferred_hard_state();
  stopping_ = true;
  while (persists_in_flight_ > 0 || ticker_running_) co_await wake_;  // never leave a WAL write behind
}

void raft_driver::turn() {
  if (ticks_due_ > 0 && persists_in_flight_ == 0) flush_deferred_hard_state();  // commit index, lazily
  while (ticks_due_ > 0) {
    raft_.tick();
    --ticks_due_;
    expire_waiters();
  }
  if (compact_pending_) {  // the snapshot is durable: raft may drop the log it covers
    std::shared_ptr<const raft::Snapshot> replaced = raft_.snapshot();
    raft_.compact(compact_pending_->first, std::move(compact_pending_->second));
    compact_pending_.reset();
    release_in_slices(std::move(replaced));
  }
  propose_queued();
  start_read_round();
  while (raft_.has_ready() && !installing_snapshot_) handle_ready();
  serve_reads();
}

void raft_driver::propose_queued() {
  while (!queued_.empty()) {
    size_t count = std::min(queued_.size(), limits_.proposals_per_batch_max);
    std::vector<raft::SharedBytes> payloads;
    payloads.reserve(count);
    for (size_t i = 0; i < count; ++i) payloads.push_back(queued_[i].payload);
    raft::ProposeResult result = raft_.propose(payloads);
    assert(result.status != raft::ProposeStatus::kInvalid && "propose() let only entries that fit in");
    if (result.status != raft::ProposeStatus::kAccepted) return;  // no leader yet: keep them queued
    queued_.erase(queued_.begin(), queued_.begin() + ptrdiff_t(count));
  }
}

void raft_driver::start_read_round() {
  if (reads_queued_.empty()) return;
  uint64_t context = next_read_context_++;
  if (!raft_.read_index(context)) return;  // no leader known: retry next turn
  read_rounds_.push_back({context, 0, std::move(reads_queued_),
                          std::chrono::steady_clock::now() + limits_.request_timeout});
  reads_queued_.clear();
}

void raft_driver::handle_ready() {
  raft::Ready rd = raft_.ready();
  assert(!rd.snapshot || rd.persist_seq != 0);  // a snapshot is always something to persist
  bool commit_only = rd.persist_seq != 0 && rd.entries.empty() && !rd.snapshot && rd.hard_state &&
                     rd.hard_state->term == synced_hard_state_.term && rd.hard_state->vote == synced_hard_state_.vote;
  if (commit_only) {
    deferred_hard_state_ = rd.hard_state;
  } else if (rd.persist_seq != 0 && !stopping_) {
    std::optional<raft::HardState> hard_state = rd.hard_state ? rd.hard_state : deferred_hard_state_;
    if (hard_state) synced_hard_state_ = *hard_state;
    deferred_hard_state_.reset();
    try {
      runtime::task<void> durable;
      if (rd.snapshot) {  // from the leader: loaded now; its file and WAL marker go before the entries
        if (!install_snapshot(*rd.snapshot)) throw std::runtime_error("snapshot from the leader does not decode");
        installing_snapshot_ = true;  // later readies wait: their WAL writes must follow the marker
        durable = install_durably(rd.snapshot->meta.index, rd.snapshot->meta.term,
                                  rd.snapshot->data, hard_state,  // a reference, not a copy
                                  std::vector<raft::Entry>(rd.entries.begin(), rd.entries.end()));
      } else {
        durable = storage_.append(hard_state, rd.entries);  // queued in order, now
      }
      ++persists_in_flight_;
      runtime::spawn(await_persisted(std::move(durable), rd.persist_seq));
    } catch (const std::exception& error) {
      persist_failed(error.what());
    }
  }
  if (send_)  // none depends on unpersisted state (raft holds acks until mark_persisted)
    for (const auto& message : rd.messages) send_(message);
  apply_entries(rd.committed_entries);
  for (const auto& state : rd.read_states)
    for (auto& round : read_rounds_)
      if (round.context == state.context) round.index = state.index;
  raft_.advance(rd);
  maybe_snapshot();
  if (commit_only) {  // nothing to wait for unless a write is still in flight (then it marks this too)
    if (persists_in_flight_ == 0) mark_persisted_upto(rd.persist_seq);
    else commit_only_seq_ = std::max(commit_only_seq_, rd.persist_seq);
  }
}

void raft_driver::apply_entries(std::span<const raft::Entry> entries) {
  if (entries.empty()) return;
  for (const auto& entry : entries) {
    applied_index_ = entry.index;
    applied_bytes_since_snapshot_ += entry.data.size();
    if (entry.type == raft::EntryType::kConfChange) {
      apply_conf_entry(entry);
      continue;
    }
    if (entry.data.empty()) continue;  // a new leader's no-op, or a refused conf change
    std::string_view bytes(reinterpret_cast<const char*>(entry.data.data()), entry.data.size());
    auto payload = decode_payload(bytes);
    if (!payload) payload = decode_membership_payload(bytes);
    if (!payload) {
      state_.skip_undecodable_entry(entry.index);
      continue;
    }
    apply_result result = state_.apply_entry(*payload, entry.index, entry.term);
    auto waiter = waiting_.find(payload->request_id);
    if (waiter != waiting_.end()) {
      waiter->second.done->set(std::move(result));
      waiting_.erase(waiter);
    }
  }
  node_metrics().proposals_committed.set(double(raft_.log().committed));
  node_metrics().proposals_applied.set(double(applied_index_));
  state_.entries_applied();
}

void raft_driver::apply_conf_entry(const raft::Entry& entry) {
  std::optional<raft::ConfChange> change = raft::decode_conf_change(entry.data.span());
  if (!change) {  // raft treats it as a no-op too
    state_.skip_undecodable_entry(entry.index);
    return;
  }
  state_.apply_conf_change(*change, entry.index);
  std::erase_if(conf_waiters_, [&](const conf_waiter& waiter) {
    if (waiter.change.type != change->type || waiter.change.node_ids != change->node_ids) return false;
    waiter.done->set(rpc_status{});
    return true;
  });
}

void raft_driver::serve_reads() {
  while (!read_rounds_.empty() && read_rounds_.front().index != 0 &&
         read_rounds_.front().index <= applied_index_) {
    for (auto* waiter : read_rounds_.front().waiters) waiter->set(rpc_status{});
    read_rounds_.pop_front();
  }
}

void raft_driver::expire_waiters() {
  auto now = std::chrono::steady_clock::now();
  bool expired_any = false;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second.deadline > now) { ++it; continue; }
    it->second.done->set(apply_result{etcd_errors::timeout(), {}, {}});
    it = waiting_.erase(it);
    expired_any = true;
  }
  // A proposal still queued (no leader accepted it) whose client was told "timed out" is dropped, as
  // etcd drops it: it must not commit later, after a partition heals, behind the client's back.
  if (expired_any) std::erase_if(queued_, [&](const queued_proposal& p) { return !waiting_.contains(p.id); });
  std::erase_if(conf_waiters_, [&](const conf_waiter& waiter) {
    if (waiter.deadline > now) return false;
    waiter.done->set(etcd_errors::timeout());
    return true;
  });
  // A round raft never answered (leadership changed) times out as a whole.
  while (!read_rounds_.empty() && read_rounds_.front().deadline <= now) {
    node_metrics().read_indexes_failed.inc();
    for (auto* waiter : read_rounds_.front().waiters) waiter->set(etcd_errors::timeout());
    read_rounds_.pop_front();
  }
}

void raft_driver::fail_all(const rpc_status& status) {
  for (auto& [id, waiter] : waiting_) waiter.done->set(apply_result{status, {}, {}});
  waiting_.clear();
  queued_.clear();
  for (auto* waiter : reads_queued_) waiter->set(status);
  reads_queued_.clear();
  for (auto& waiter : conf_waiters_) waiter.done->set(status);
  conf_waiters_.clear();
  for (auto& round : read_rounds_)
    for (auto* waiter : round.waiters) waiter->set(status);
  read_rounds_.clear();
}

}  // namespace ringkv::server
