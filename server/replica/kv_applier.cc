// server/replica/kv_applier.cc — see kv_applier.h. Every handler parses the request protobuf from the entry,
// applies it, and serializes the response with the header (revision after the apply, raft term).
#include "server/replica/kv_applier.h"

#include <cassert>
#include <chrono>
#include <random>

#include "server/common/unary_helpers.h"

namespace ringkv::server {
namespace {

using unary::failure;
using unary::parse;
using unary::reply;

apply_result undecodable() { return failure({grpc_code::internal, "ringkv: undecodable raft entry"}); }

bool txn_has_writes(const etcdserverpb::TxnRequest& txn) {
  for (const auto* branch : {&txn.success(), &txn.failure()})
    for (const auto& op : *branch) {
      if (op.has_request_put() || op.has_request_delete_range()) return true;
      if (op.has_request_txn() && txn_has_writes(op.request_txn())) return true;
    }
  return false;
}

}  // namespace

rpc_status to_status(mvcc::Errc error) {
  if (error == mvcc::Errc::ok) return {};
  return {grpc_code(int(mvcc::error_grpc_code(error))), std::string(mvcc::error_message(error))};
}

int64_t lease_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

kv_applier::kv_applier(mvcc::MvccStore& store, uint64_t cluster_id, uint64_t member_id, int64_t token_ttl_ms)
    : store_(store), cluster_id_(cluster_id), member_id_(member_id), tokens_(token_ttl_ms) {
  // Answers replayed from the WAL of an earlier run must not match a live waiter of this one.
  std::random_device random;
  next_lease_nonce_ = uint64_t(random()) << 32 | random();
}

apply_result kv_applier::apply(const decoded_payload& payload, raft::Index index, raft::Term term) {
  term_ = term;
  applied_index_ = index;
  apply_result result;
  switch (payload.kind) {
    case proposal_kind::put:
    case proposal_kind::delete_range:
    case proposal_kind::txn: result = apply_without_user(payload.kind, payload.message); break;
    case proposal_kind::compaction: result = apply_compaction(payload.message); break;
    case proposal_kind::lease_grant: result = apply_lease_grant(payload.message); break;
    case proposal_kind::lease_revoke: result = apply_lease_revoke(payload.message); break;
    case proposal_kind::lease_checkpoint: result = apply_lease_checkpoint(payload.message); break;
    case proposal_kind::alarm: result = apply_alarm(payload.message); break;
    case proposal_kind::lease_ask: result = apply_lease_ask(payload.message); break;
    case proposal_kind::lease_answer: result = apply_lease_answer(payload.message); break;
    case proposal_kind::as_user: result = apply_as_user(payload.message, index); break;
    case proposal_kind::auth_enable:
    case proposal_kind::auth_disable:
    case proposal_kind::authenticate:
    case proposal_kind::user_add:
    case proposal_kind::user_delete:
    case proposal_kind::user_change_password:
    case proposal_kind::user_grant_role:
    case proposal_kind::user_revoke_role:
    case proposal_kind::role_add:
    case proposal_kind::role_delete:
    case proposal_kind::role_grant_permission:
    case proposal_kind::role_revoke_permission: result = apply_auth(payload.kind, payload.message, {}, index); break;
  }
  return result;  // a compaction's memory is released in steps by the replica's compaction_stepper
}

storage::mvcc::MvccStore::Snapshotter kv_applier::begin_snapshot(std::string& out) const {
  put_u64_le(out, alarms_.size());
  for (const auto& [member, type] : alarms_) {
    put_u64_le(out, member);
    put_u64_le(out, uint64_t(type));
  }
  append_auth_section(out, auth_);
  return store_.begin_snapshot(out);
}

void kv_applier::append_auth_section(std::string& out, const auth::auth_store& auth) {
  std::string auth_bytes;
  auth.encode(auth_bytes);
  out.append(auth_section_magic);
  put_u64_le(out, auth_bytes.size());
  out += auth_bytes;
}

namespace {

// The alarm section's length, or nullopt when its count does not fit the bytes.
std::optional<size_t> alarm_section_bytes(std::string_view bytes) {
  if (bytes.size() < 8) return std::nullopt;
  uint64_t count = get_u64_le(bytes, 0);
  if (count > (bytes.size() - 8) / 16) return std::nullopt;
  return 8 + count * 16;
}

// The auth section after the alarms: its store and its length with the magic, or {nullopt, 0} when the
// snapshot has none (written before auth existed: an empty store). `ok` false: present but corrupt.
struct auth_section {
  bool ok = true;
  std::optional<auth::auth_store> store;
  size_t bytes = 0;
};

auth_section read_auth_section(std::string_view bytes) {
  if (!bytes.starts_with(auth_section_magic)) return {true, std::nullopt, 0};
  size_t header = auth_section_magic.size() + 8;
  if (bytes.size() < header) return {false, std::nullopt, 0};
  uint64_t length = get_u64_le(bytes, auth_section_magic.size());
  if (length > bytes.size() - header) return {false, std::nullopt, 0};
  auto store = auth::auth_store::decode(bytes.substr(header, length));
  if (!store) return {false, std::nullopt, 0};
  return {true, std::move(store), header + length};
}

}  // namespace

bool kv_applier::snapshot_decodes(std::string_view bytes) {
  std::optional<size_t> alarm_bytes = alarm_section_bytes(bytes);
  if (!alarm_bytes) return false;
  auth_section auth = read_auth_section(bytes.substr(*alarm_bytes));
  return auth.ok && mvcc::MvccStore::check_snapshot(bytes.substr(*alarm_bytes + auth.bytes)) == mvcc::Errc::ok;
}

bool kv_applier::restore(std::string_view bytes, raft::Index index) {
  std::optional<size_t> alarm_bytes = alarm_section_bytes(bytes);
  if (!alarm_bytes) return false;
  std::set<std::pair<uint64_t, int>> alarms;
  for (size_t at = 8; at < *alarm_bytes; at += 16) alarms.insert({get_u64_le(bytes, at), int(get_u64_le(bytes, at + 8))});
  auth_section auth = read_auth_section(bytes.substr(*alarm_bytes));
  if (!auth.ok) return false;
  if (store_.restore(bytes.substr(*alarm_bytes + auth.bytes)) != mvcc::Errc::ok) return false;
  alarms_ = std::move(alarms);
  auth_ = auth.store ? std::move(*auth.store) : auth::auth_store{};
  tokens_.clear();  // tokens of users the new state may not have
  applied_index_ = index;
  return true;
}

apply_result kv_applier::apply_put(std::string_view message) {
  etcdserverpb::PutRequest request;
  if (!parse(request, message)) return undecodable();
  if (nospace_alarm()) return failure(etcd_errors::no_space());
  auto result = store_.put(from_proto(request));
  if (!result.ok()) return failure(to_status(result.error()));
  etcdserverpb::PutResponse response;
  to_proto(result.value(), ids(), &response);
  return reply(response);
}

apply_result kv_applier::apply_delete_range(std::string_view message) {
  etcdserverpb::DeleteRangeRequest request;
  if (!parse(request, message)) return undecodable();
  auto result = store_.delete_range(from_proto(request));
  if (!result.ok()) return failure(to_status(result.error()));
  etcdserverpb::DeleteRangeResponse response;
  to_proto(result.value(), ids(), &response);
  return reply(response);
}

apply_result kv_applier::apply_txn(std::string_view message) {
  etcdserverpb::TxnRequest request;
  if (!parse(request, message)) return undecodable();
  if (nospace_alarm() && txn_has_writes(request)) return failure(etcd_errors::no_space());
  auto result = store_.txn(from_proto(request));
  if (!result.ok()) return failure(to_status(result.error()));
  etcdserverpb::TxnResponse response;
  to_proto(result.value(), ids(), &response);
  return reply(response);
}

apply_result kv_applier::apply_compaction(std::string_view message) {
  etcdserverpb::CompactionRequest request;
  if (!parse(request, message)) return undecodable();
  auto result = store_.compact(request.revision());
  if (!result.ok()) return failure(to_status(result.error()));
  etcdserverpb::CompactionResponse response;
  fill_header(response.mutable_header(), ids(), result->header_revision);
  return reply(response);
}

apply_result kv_applier::apply_lease_grant(std::string_view message) {
  etcdserverpb::LeaseGrantRequest request;
  if (!parse(request, message)) return undecodable();
  if (nospace_alarm()) return failure(etcd_errors::no_space());
  auto result = store_.lease_grant(request.id(), request.ttl(), lease_clock_ms());
  if (!result.ok()) return failure(to_status(result.error()));
  etcdserverpb::LeaseGrantResponse response;
  fill_header(response.mutable_header(), ids(), result->header_revision);
  response.set_id(result->id);
  response.set_ttl(result->ttl_s);
  return reply(response);
}

apply_result kv_applier::apply_lease_revoke(std::string_view message) {
  etcdserverpb::LeaseRevokeRequest request;
  if (!parse(request, message)) return undecodable();
  auto result = store_.lease_revoke(request.id());
  if (!result.ok()) return failure(to_status(result.error()));
  etcdserverpb::LeaseRevokeResponse response;
  fill_header(response.mutable_header(), ids(), result->header_revision);
  return reply(response);
}

apply_result kv_applier::apply_lease_checkpoint(std::string_view message) {
  etcdserverpb::LeaseCheckpointRequest request;
  if (!parse(request, message)) return undecodable();
  for (const auto& checkpoint : request.checkpoints()) {
    auto error = store_.lease_checkpoint(checkpoint.id(), checkpoint.remaining_ttl());
    if (error != mvcc::Errc::ok && error != mvcc::Errc::lease_not_found) return failure(to_status(error));
  }
  etcdserverpb::LeaseCheckpointResponse response;
  fill_header(response.mutable_header(), ids(), store_.current_revision());
  return reply(response);
}

apply_result kv_applier::apply_alarm(std::string_view message) {
  etcdserverpb::AlarmRequest request;
  if (!parse(request, message)) return undecodable();
  etcdserverpb::AlarmResponse response;
  fill_header(response.mutable_header(), ids(), store_.current_revision());
  auto add = [&](uint64_t member, int type) {
    auto* alarm = response.add_alarms();
    alarm->set_memberid(member);
    alarm->set_alarm(etcdserverpb::AlarmType(type));
  };
  std::pair<uint64_t, int> key{request.memberid(), int(request.alarm())};
  switch (request.action()) {
    case etcdserverpb::AlarmRequest::ACTIVATE:
      if (request.alarm() != etcdserverpb::NONE && alarms_.insert(key).second) add(key.first, key.second);
      break;
    case etcdserverpb::AlarmRequest::DEACTIVATE:
      if (alarms_.erase(key) > 0) add(key.first, key.second);
      break;
    default:
      for (const auto& [member, type] : alarms_)
        if (request.alarm() == etcdserverpb::NONE || type == int(request.alarm())) add(member, type);
  }
  return reply(response);
}

lease_ask kv_applier::begin_lease_ask(lease_ask_mode mode, int64_t lease_id, runtime::completion<lease_reply>* done,
                                     int64_t deadline_ms) {
  lease_ask ask{mode, member_id_, next_lease_nonce_++, lease_id};
  if (lease_waiters_.size() >= lease_waiters_max) {
    done->set({etcd_errors::too_many_requests(), 0});
    return ask;  // proposing it is harmless: nobody waits for its answer
  }
  lease_waiters_[ask.nonce] = {done, deadline_ms};
  return ask;
}

void kv_applier::abandon_lease_ask(uint64_t nonce) { lease_waiters_.erase(nonce); }

void kv_applier::expire_lease_asks(int64_t now_ms) {
  for (auto it = lease_waiters_.begin(); it != lease_waiters_.end();) {
    if (it->second.deadline_ms > now_ms) {
      ++it;
      continue;
    }
    it->second.done->set({etcd_errors::timeout(), 0});
    it = lease_waiters_.erase(it);
  }
}

void kv_applier::fail_lease_asks(const rpc_status& status) {
  auto waiters = std::move(lease_waiters_);
  lease_waiters_.clear();
  for (auto& [nonce, waiter] : waiters) waiter.done->set({status, 0});
}

// Only the lease primary answers; every other member applies the ask as a no-op. The primary decides
// from its own expiry: a lease revoked earlier in the log is unknown here, and an expired one (its
// revoke on the way) is not renewed, so a keepalive never revives a lease the leader gave up.
apply_result kv_applier::apply_lease_ask(std::string_view message) {
  auto ask = decode_lease_ask(message);
  if (!ask) return undecodable();
  if (store_.lease_primary() && answer_sink_)
    answer_sink_(encode_lease_answer({ask->asker, ask->nonce, leader_lease_answer(*ask)}));
  return {};
}

int64_t kv_applier::leader_lease_answer(const lease_ask& ask) {
  int64_t now_ms = lease_clock_ms();
  if (ask.mode == lease_ask_mode::renew) {
    auto renewed = store_.lease_renew(ask.lease_id, now_ms);
    return renewed.ok() ? renewed->ttl_s : 0;
  }
  auto ttl = store_.lease_time_to_live(ask.lease_id, now_ms, false);
  return ttl.ok() ? ttl->ttl_s : -1;
}

apply_result kv_applier::apply_lease_answer(std::string_view message) {
  auto answer = decode_lease_answer(message);
  if (!answer) return undecodable();
  if (answer->asker != member_id_) return {};
  auto waiter = lease_waiters_.find(answer->nonce);
  if (waiter == lease_waiters_.end()) return {};  // timed out, or asked by an earlier run
  waiter->second.done->set({{}, answer->ttl_s});
  lease_waiters_.erase(waiter);
  return {};
}

}  // namespace ringkv::server
