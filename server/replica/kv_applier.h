// server/replica/kv_applier.h — the replicated state machine: applies committed raft entries (put, delete,
// txn, compaction, leases, alarms) to the MVCC store, auth entries to the auth store (auth_applier.cc),
// and serializes etcd's response for the proposer.
// Pure apart from reading the clock for local lease expiry; runs on the raft shard only.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <unordered_map>
#include <string>
#include <utility>

#include "raft/types.h"
#include "server/auth/auth_store.h"
#include "server/auth/simple_tokens.h"
#include "server/common/errors.h"
#include "server/replica/kv_convert.h"
#include "server/replica/raft_driver.h"
#include "server/replica/raft_payload.h"
#include "runtime/completion.h"
#include "runtime/notifier.h"
#include "storage/mvcc/store.h"

namespace ringkv::server {

rpc_status to_status(mvcc::Errc error);
inline constexpr std::string_view auth_section_magic = "RKVAUTH1";  // begins the snapshot's auth section
int64_t lease_clock_ms();  // steady clock in ms: the store's `now_ms` for lease expiry

// The leader's answer to one lease_ask (raft_payload.h), as the asking member's handler receives it.
struct lease_reply {
  rpc_status status;  // not ok: no answer (timeout, stopped, too many asks)
  int64_t ttl_s = 0;  // meaning per lease_ask_mode
};

class kv_applier {
 public:
  // `token_ttl_ms`: how long a simple token lives unused (--auth-token-ttl).
  kv_applier(mvcc::MvccStore& store, uint64_t cluster_id, uint64_t member_id, int64_t token_ttl_ms = 300000);

  apply_result apply(const decoded_payload& payload, raft::Index index, raft::Term term);

  header_ids ids() const { return {cluster_id_, member_id_, term_}; }
  bool nospace_alarm() const { return !alarms_.empty(); }
  // (member id, etcdserverpb::AlarmType) pairs currently raised.
  const std::set<std::pair<uint64_t, int>>& alarms() const { return alarms_; }
  raft::Index applied_index() const { return applied_index_; }
  const auth::auth_store& auth() const { return auth_; }
  auth::simple_tokens& tokens() { return tokens_; }  // registered by applied Authenticate entries
  // --auth-token jwt: an applied Authenticate registers no simple token; its response's token field
  // carries the auth revision it was granted at (decimal), which the proposer's Authenticate replaces
  // with the signed JWT (auth_service.cc) before it leaves the member.
  void set_signed_tokens(bool on) { signed_tokens_ = on; }

  // ---- lease questions for the leader (raft_payload.h lease_ask / lease_answer) ----
  // Asker: registers `done` for the answer and returns the ask to propose (kind lease_ask). `done` is
  // set exactly once: by the answer's apply, expire_lease_asks, fail_lease_asks or too many waiting.
  // A caller whose proposal of the ask failed calls abandon_lease_ask (its `done` is then never set).
  lease_ask begin_lease_ask(lease_ask_mode mode, int64_t lease_id, runtime::completion<lease_reply>* done,
                            int64_t deadline_ms);
  void abandon_lease_ask(uint64_t nonce);
  void expire_lease_asks(int64_t now_ms);       // past their deadline: request timed out
  void fail_lease_asks(const rpc_status& status);
  size_t lease_asks_waiting() const { return lease_waiters_.size(); }
  // Leader: the answers it owes are handed (encoded lease_answer) to this sink, which proposes them.
  // Unset: asks are not answered (the askers time out).
  void set_lease_answer_sink(std::function<void(std::string answer)> sink) { answer_sink_ = std::move(sink); }

  // The replicated state as bytes (for raft snapshots), appended to `out` a slice at a time
  // (MvccStore::Snapshotter); the alarms and the auth store are written now:
  //   [u64 alarm count][alarm count x (u64 member id, u64 alarm type)]
  //   ["RKVAUTH1"][u64 bytes][auth_store::encode bytes]   (absent in snapshots of earlier versions)
  //   [MvccStore::snapshot() bytes, starting "RKVMVCC1"]  (LE)
  storage::mvcc::MvccStore::Snapshotter begin_snapshot(std::string& out) const;
  // The auth section of those bytes, for writers of a snapshot made elsewhere (`ringkv snapshot restore`).
  static void append_auth_section(std::string& out, const auth::auth_store& auth);
  // Replaces the state from begin_snapshot() bytes; false (state unchanged) if they do not decode.
  bool restore(std::string_view bytes, raft::Index index);
  // Whether restore() would accept `bytes` (a dry parse: nothing is built).
  static bool snapshot_decodes(std::string_view bytes);

 private:
  apply_result apply_put(std::string_view message);
  apply_result apply_delete_range(std::string_view message);
  apply_result apply_txn(std::string_view message);
  apply_result apply_compaction(std::string_view message);
  apply_result apply_lease_grant(std::string_view message);
  apply_result apply_lease_revoke(std::string_view message);
  apply_result apply_lease_checkpoint(std::string_view message);
  apply_result apply_alarm(std::string_view message);
  apply_result apply_lease_ask(std::string_view message);
  apply_result apply_lease_answer(std::string_view message);
  int64_t leader_lease_answer(const lease_ask& ask);
  // auth_applier.cc: auth entries, and entries proposed by an authenticated user.
  apply_result apply_auth(proposal_kind kind, std::string_view message, std::string_view user, raft::Index index);
  apply_result apply_as_user(std::string_view message, raft::Index index);
  auth::auth_errc kv_permitted(const as_user_payload& request) const;  // etcd's authApplierV3 checks
  auth::auth_errc lease_keys_writable(std::string_view user, uint64_t revision, int64_t lease_id) const;
  apply_result apply_kv(proposal_kind kind, std::string_view message);
  // Put, DeleteRange, Txn proposed with no user: checked as etcd does if auth was enabled meanwhile.
  apply_result apply_without_user(proposal_kind kind, std::string_view message);
  apply_result apply_authenticate(std::string_view message, raft::Index index);
  apply_result auth_reply(auth::auth_errc error);  // the empty Auth*Response of `kind`, or the error

  struct lease_waiter {
    runtime::completion<lease_reply>* done;
    int64_t deadline_ms;
  };
  static constexpr size_t lease_waiters_max = 65536;  // asks waiting for the leader's answer

  mvcc::MvccStore& store_;
  uint64_t cluster_id_;
  uint64_t member_id_;
  raft::Term term_ = 0;
  raft::Index applied_index_ = 0;
  std::set<std::pair<uint64_t, int>> alarms_;
  auth::auth_store auth_;       // replicated: users, roles, enabled, auth revision
  auth::simple_tokens tokens_;  // this member's: tokens registered by applied Authenticate entries
  bool signed_tokens_ = false;  // --auth-token jwt
  std::unordered_map<uint64_t, lease_waiter> lease_waiters_;  // by nonce (this member's asks only)
  uint64_t next_lease_nonce_;
  std::function<void(std::string answer)> answer_sink_;
};

}  // namespace ringkv::server
