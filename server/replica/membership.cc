// server/replica/membership.cc — member records, their entry codec and snapshot section (see membership.h).
#include "server/replica/membership.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "etcd/rpc.pb.h"

namespace ringkv::server {

namespace {

constexpr uint32_t snapshot_magic = 0xFFFFFFFFu;
constexpr uint32_t snapshot_section_version = 0x314D4B52u;  // "RKM1"
constexpr uint32_t section_records_max = 1u << 16;          // more is corruption, not a cluster

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(char(uint8_t(v >> (8 * i))));
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(char(uint8_t(v >> (8 * i))));
}

// Reads little-endian integers and length-prefixed blobs; any overrun sets `failed`.
struct reader {
  std::string_view in;
  bool failed = false;
  uint64_t get(size_t bytes) {
    if (in.size() < bytes) {
      failed = true;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v |= uint64_t(uint8_t(in[i])) << (8 * i);
    in.remove_prefix(bytes);
    return v;
  }
  std::string_view blob() {
    size_t n = size_t(get(4));
    if (failed || in.size() < n) {
      failed = true;
      return {};
    }
    std::string_view out = in.substr(0, n);
    in.remove_prefix(n);
    return out;
  }
};

void put_records(std::string& out, const std::map<uint64_t, member_record>& records) {
  put_u32(out, uint32_t(records.size()));
  for (const auto& [id, record] : records) {
    etcdserverpb::Member member;
    to_proto(record, &member);
    std::string bytes = member.SerializeAsString();
    put_u32(out, uint32_t(bytes.size()));
    out += bytes;
  }
}

bool get_records(reader& in, std::map<uint64_t, member_record>& records) {
  uint32_t n = uint32_t(in.get(4));
  if (in.failed || n > section_records_max) return false;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view bytes = in.blob();
    etcdserverpb::Member member;
    if (in.failed || !member.ParseFromArray(bytes.data(), int(bytes.size())) || member.id() == 0) return false;
    records[member.id()] = from_proto(member);
  }
  return true;
}

bool overlaps(std::span<const std::string> a, std::span<const std::string> b) {
  for (const auto& url : a)
    if (std::find(b.begin(), b.end(), url) != b.end()) return true;
  return false;
}

rpc_status make(grpc_code code, const char* message) { return rpc_status{code, message}; }

}  // namespace

namespace member_errors {
rpc_status not_found() { return make(grpc_code::not_found, "etcdserver: member not found"); }
rpc_status peer_url_exists() { return make(grpc_code::failed_precondition, "etcdserver: Peer URLs already exists"); }
rpc_status not_learner() {
  return make(grpc_code::failed_precondition, "etcdserver: can only promote a learner member");
}
rpc_status learner_not_ready() {
  return make(grpc_code::failed_precondition,
              "etcdserver: can only promote a learner member which is in sync with leader");
}
rpc_status too_many_learners() {
  return make(grpc_code::failed_precondition, "etcdserver: too many learner members in cluster");
}
rpc_status bad_urls() { return make(grpc_code::invalid_argument, "etcdserver: given member URLs are invalid"); }
rpc_status not_enough_started() {
  return make(grpc_code::failed_precondition,
              "etcdserver: re-configuration failed due to not enough started members");
}
rpc_status id_exists() { return make(grpc_code::failed_precondition, "etcdserver: member ID already exist"); }
rpc_status unhealthy() { return make(grpc_code::unavailable, "etcdserver: unhealthy cluster"); }
rpc_status not_for_learner() { return make(grpc_code::unavailable, "etcdserver: rpc not supported for learner"); }
}  // namespace member_errors

member_record make_member(uint64_t id, std::vector<std::string> peer_urls, std::string name) {
  member_record record;
  record.id = id;
  record.name = std::move(name);
  record.peer_urls = std::move(peer_urls);
  return record;
}

void to_proto(const member_record& record, etcdserverpb::Member* out) {
  out->set_id(record.id);
  out->set_name(record.name);
  for (const auto& url : record.peer_urls) out->add_peerurls(url);
  for (const auto& url : record.client_urls) out->add_clienturls(url);
  out->set_islearner(record.is_learner);
}

member_record from_proto(const etcdserverpb::Member& member) {
  member_record record;
  record.id = member.id();
  record.name = member.name();
  record.peer_urls.assign(member.peerurls().begin(), member.peerurls().end());
  record.client_urls.assign(member.clienturls().begin(), member.clienturls().end());
  record.is_learner = member.islearner();
  return record;
}

std::string encode_member_change(const member_change& change) {
  etcdserverpb::Member member;
  to_proto(change.record, &member);
  std::string out(1, char(change.op));
  out += member.SerializeAsString();
  return out;
}

std::optional<member_change> decode_member_change(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  uint8_t op = uint8_t(bytes[0]);
  if (op < uint8_t(member_op::stage_add) || op > uint8_t(member_op::publish)) return std::nullopt;
  etcdserverpb::Member member;
  if (!member.ParseFromArray(bytes.data() + 1, int(bytes.size() - 1)) || member.id() == 0) return std::nullopt;
  return member_change{member_op(op), from_proto(member)};
}

bool is_member_ask_op(member_op op) {
  return op == member_op::promote_ask || op == member_op::reconfig_check_ask || op == member_op::ask_answer;
}

std::string encode_member_ask(member_op op, const member_ask& message) {
  assert(is_member_ask_op(op));
  std::string out(1, char(op));
  put_u64_le(out, message.asker);
  put_u64_le(out, message.nonce);
  put_u64_le(out, message.target);
  out += char(uint8_t(message.status.code));
  out += message.status.message;
  return out;
}

std::optional<std::pair<member_op, member_ask>> decode_member_ask(std::string_view bytes) {
  if (bytes.size() < member_ask_bytes_min) return std::nullopt;
  const auto op = member_op(uint8_t(bytes[0]));
  if (!is_member_ask_op(op)) return std::nullopt;
  const uint8_t code = uint8_t(bytes[25]);
  if (code > uint8_t(grpc_code::unauthenticated)) return std::nullopt;
  member_ask message{get_u64_le(bytes, 1), get_u64_le(bytes, 9), get_u64_le(bytes, 17),
                     rpc_status{grpc_code(code), std::string(bytes.substr(member_ask_bytes_min))}};
  return std::pair{op, std::move(message)};
}

std::string encode_membership_payload(request_id_t request_id, const member_change& change) {
  return encode_payload(proposal_kind(membership_payload_kind), request_id, encode_member_change(change));
}

std::optional<decoded_payload> decode_membership_payload(std::string_view entry) {
  if (entry.size() < payload_header_bytes || uint8_t(entry[0]) != membership_payload_kind) return std::nullopt;
  request_id_t id = 0;
  for (int i = 0; i < 8; ++i) id |= request_id_t(uint8_t(entry[size_t(1 + i)])) << (8 * i);
  return decoded_payload{proposal_kind(membership_payload_kind), id, entry.substr(payload_header_bytes)};
}

// ---- state ----

void membership::bootstrap(std::span<const uint64_t> voters, std::span<const member_record> known) {
  members_.clear();
  staged_.clear();
  for (uint64_t id : voters) {
    member_record record = make_member(id);
    for (const auto& k : known)
      if (k.id == id) record = k;
    record.is_learner = false;
    members_[id] = std::move(record);
  }
}

void membership::apply_conf_change(const raft::ConfChange& change, std::span<const member_record> known) {
  if (change.type == raft::ConfChangeType::kBootstrap) {
    bootstrap(change.node_ids, known);
    return;
  }
  if (change.node_ids.size() != 1) return;
  const uint64_t id = change.node_ids[0];
  switch (change.type) {
    case raft::ConfChangeType::kAddVoter:
    case raft::ConfChangeType::kAddLearner: {
      const bool learner = change.type == raft::ConfChangeType::kAddLearner;
      auto existing = members_.find(id);
      if (existing != members_.end()) {
        if (!learner) existing->second.is_learner = false;  // promotion; a voter is never demoted
        return;
      }
      member_record record = make_member(id);
      if (auto staged = staged_.find(id); staged != staged_.end()) {
        record = std::move(staged->second);
        staged_.erase(staged);
      }
      record.is_learner = learner;
      members_[id] = std::move(record);
      removed_.erase(id);
      return;
    }
    case raft::ConfChangeType::kRemoveNode:
      members_.erase(id);
      staged_.erase(id);
      removed_.insert(id);
      return;
    case raft::ConfChangeType::kBootstrap: return;
  }
}

rpc_status membership::apply(const member_change& change) {
  const member_record& in = change.record;
  switch (change.op) {
    case member_op::stage_add: {
      if (members_.contains(in.id) || removed_.contains(in.id)) return member_errors::id_exists();
      // A staged add whose conf change never came (its proposer failed) gives way to a retry.
      std::erase_if(staged_, [&](const auto& kv) { return overlaps(kv.second.peer_urls, in.peer_urls); });
      if (staged_.size() >= staged_adds_max) staged_.erase(staged_.begin());
      member_record record = make_member(in.id, in.peer_urls);
      record.is_learner = in.is_learner;
      staged_[in.id] = std::move(record);
      return {};
    }
    case member_op::update_peer_urls: {
      auto it = members_.find(in.id);
      if (it == members_.end()) return member_errors::not_found();
      it->second.peer_urls = in.peer_urls;
      return {};
    }
    case member_op::publish: {
      auto it = members_.find(in.id);
      if (it == members_.end()) return member_errors::not_found();
      it->second.name = in.name;
      it->second.client_urls = in.client_urls;
      if (it->second.peer_urls.empty()) it->second.peer_urls = in.peer_urls;
      return {};
    }
    case member_op::promote_ask:
    case member_op::reconfig_check_ask:
    case member_op::ask_answer: return {};  // no state (decode_member_change never yields them)
  }
  return member_errors::not_found();
}

const member_record* membership::find(uint64_t id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

raft::ConfState membership::conf_state() const {
  raft::ConfState conf;
  for (const auto& [id, record] : members_) (record.is_learner ? conf.learners : conf.voters).push_back(id);
  return conf;  // sorted: members_ is ordered by id
}

size_t membership::learner_count() const {
  return size_t(std::count_if(members_.begin(), members_.end(), [](const auto& kv) { return kv.second.is_learner; }));
}

bool membership::peer_url_taken(std::span<const std::string> urls, uint64_t except) const {
  for (const auto& [id, record] : members_)
    if (id != except && overlaps(record.peer_urls, urls)) return true;
  return false;
}

// etcd's IsReadyToAddVotingMember: after the add, the started voters must still be a quorum.
bool membership::ready_to_add_voter() const {
  size_t voters = 1, started = 0;
  for (const auto& [id, record] : members_) {
    if (record.is_learner) continue;
    ++voters;
    if (!record.name.empty()) ++started;
  }
  if (started == 1 && voters == 2) return true;  // etcd: growing a 1-member cluster is always allowed
  return started >= voters / 2 + 1;
}

// etcd's IsReadyToRemoveVotingMember: without `id`, the started voters must still be a quorum.
bool membership::ready_to_remove_voter(uint64_t id) const {
  size_t voters = 0, started = 0;
  for (const auto& [member, record] : members_) {
    if (record.is_learner || member == id) continue;
    ++voters;
    if (!record.name.empty()) ++started;
  }
  return started >= voters / 2 + 1;
}

std::string membership::encode() const {
  std::string out;
  put_records(out, members_);
  put_records(out, staged_);
  put_u32(out, uint32_t(removed_.size()));
  for (uint64_t id : removed_) put_u64(out, id);
  return out;
}

std::optional<membership> membership::decode(std::string_view bytes) {
  membership out;
  reader in{bytes};
  if (!get_records(in, out.members_) || !get_records(in, out.staged_)) return std::nullopt;
  uint32_t removed = uint32_t(in.get(4));
  if (in.failed || removed > section_records_max) return std::nullopt;
  for (uint32_t i = 0; i < removed; ++i) out.removed_.insert(in.get(8));
  if (in.failed || !in.in.empty()) return std::nullopt;
  return out;
}

std::string wrap_snapshot(const membership& members, std::string_view state) {
  std::string section = members.encode();
  std::string out;
  out.reserve(12 + section.size() + state.size());
  put_u32(out, snapshot_magic);
  put_u32(out, snapshot_section_version);
  put_u32(out, uint32_t(section.size()));
  out += section;
  out += state;
  return out;
}

unwrapped_snapshot unwrap_snapshot(std::string_view data) {
  reader in{data};
  if (in.get(4) != snapshot_magic || in.failed) return {true, std::nullopt, data};  // an older snapshot
  if (in.get(4) != snapshot_section_version) return {};
  std::string_view section = in.blob();
  if (in.failed) return {};
  auto members = membership::decode(section);
  if (!members) return {};
  return {true, std::move(members), in.in};
}

}  // namespace ringkv::server
