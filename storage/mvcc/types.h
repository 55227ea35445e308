// storage/mvcc/types.h: the request/response vocabulary of the MVCC state machine. Each struct mirrors
// etcd v3's etcdserverpb / mvccpb message of the same name field for field, so the server maps a protobuf
// onto it one to one. Revisions and lease ids are int64 exactly as on the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ringkv::storage::mvcc {

using revision_t = int64_t;  // a main revision (what clients see as mod/create revision)
using lease_id_t = int64_t;  // etcd LeaseID; 0 means "no lease"
using watch_id_t = int64_t;

inline constexpr lease_id_t no_lease = 0;

// mvccpb.KeyValue, owning its bytes.
struct KeyValue {
  std::string key;
  revision_t create_revision = 0;
  revision_t mod_revision = 0;
  int64_t version = 0;
  std::string value;
  lease_id_t lease = no_lease;
  bool operator==(const KeyValue&) const = default;
};

// mvccpb.KeyValue as views into the store: valid until the next mutating call on the store.
// The server encodes protobuf straight from these, so a range result is copied only once.
struct KeyValueView {
  std::string_view key;
  revision_t create_revision = 0;
  revision_t mod_revision = 0;
  int64_t version = 0;
  std::string_view value;
  lease_id_t lease = no_lease;
  KeyValue to_owned() const {
    return KeyValue{std::string(key), create_revision, mod_revision, version, std::string(value), lease};
  }
};

enum class SortOrder { none = 0, ascend = 1, descend = 2 };
enum class SortTarget { key = 0, version = 1, create = 2, mod = 3, value = 4 };

// range_end: empty = the single key `key`; "\0" = every key >= key; otherwise [key, range_end).
struct RangeRequest {
  std::string key;
  std::string range_end;
  int64_t limit = 0;
  revision_t revision = 0;  // <= 0: current revision
  SortOrder sort_order = SortOrder::none;
  SortTarget sort_target = SortTarget::key;
  bool serializable = false;  // routing hint for the server; the store ignores it
  bool keys_only = false;
  bool count_only = false;
  revision_t min_mod_revision = 0;
  revision_t max_mod_revision = 0;
  revision_t min_create_revision = 0;
  revision_t max_create_revision = 0;
};

struct RangeResponse {
  revision_t header_revision = 0;
  std::vector<KeyValue> kvs;
  bool more = false;
  int64_t count = 0;
};

struct RangeViewResponse {
  revision_t header_revision = 0;
  std::vector<KeyValueView> kvs;
  bool more = false;
  int64_t count = 0;
};

struct PutRequest {
  std::string key;
  std::string value;
  lease_id_t lease = no_lease;
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
};

struct PutResponse {
  revision_t header_revision = 0;
  std::optional<KeyValue> prev_kv;
};

struct DeleteRangeRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;
};

struct DeleteRangeResponse {
  revision_t header_revision = 0;
  int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
};

// etcdserverpb.Compare: only the field selected by `target` is read.
struct Compare {
  enum class Result { equal = 0, greater = 1, less = 2, not_equal = 3 };
  enum class Target { version = 0, create = 1, mod = 2, value = 3, lease = 4 };
  Result result = Result::equal;
  Target target = Target::version;
  std::string key;
  std::string range_end;
  int64_t version = 0;
  revision_t create_revision = 0;
  revision_t mod_revision = 0;
  std::string value;
  lease_id_t lease = no_lease;
};

struct RequestOp;
struct ResponseOp;

struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<RequestOp> success;
  std::vector<RequestOp> failure;
};

struct TxnResponse {
  revision_t header_revision = 0;
  bool succeeded = false;
  std::vector<ResponseOp> responses;
};

// etcdserverpb.RequestOp: monostate is the empty oneof (rejected as etcd does).
struct RequestOp {
  std::variant<std::monostate, RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest> request;
};

struct ResponseOp {
  std::variant<RangeResponse, PutResponse, DeleteRangeResponse, TxnResponse> response;
};

struct CompactionResponse {
  revision_t header_revision = 0;
};

// HashKV as etcd computes it (crc32c over its backend encoding), so members and real etcd agree.
struct HashKvResponse {
  revision_t header_revision = 0;
  uint32_t hash = 0;
  revision_t compact_revision = 0;
};

struct LeaseGrantResponse {
  revision_t header_revision = 0;
  lease_id_t id = no_lease;
  int64_t ttl_s = 0;
};

struct LeaseRevokeResponse {
  revision_t header_revision = 0;
};

struct LeaseTimeToLiveResponse {
  revision_t header_revision = 0;
  lease_id_t id = no_lease;
  int64_t ttl_s = 0;          // remaining, truncated to seconds as etcd does
  int64_t granted_ttl_s = 0;
  std::vector<std::string> keys;  // only when asked for
};

struct LeaseRenewResponse {
  int64_t ttl_s = 0;
  bool needs_checkpoint_clear = false;  // propose LeaseCheckpoint{id, 0} so followers forget the old TTL
};

struct LeaseCheckpoint {
  lease_id_t id = no_lease;
  int64_t remaining_ttl_s = 0;
};

// mvccpb.Event.
struct Event {
  enum class Type { put = 0, del = 1 };
  Type type = Type::put;
  KeyValue kv;
  std::optional<KeyValue> prev_kv;
  bool operator==(const Event&) const = default;
};

// An event as views into the store (MvccStore::watch_poll_views): valid until the store changes.
struct EventView {
  Event::Type type = Event::Type::put;
  KeyValueView kv;
  std::optional<KeyValueView> prev_kv;
  Event to_owned() const {
    Event event{type, kv.to_owned(), std::nullopt};
    if (prev_kv) event.prev_kv = prev_kv->to_owned();
    return event;
  }
};

struct WatchCreateRequest {
  std::string key;
  std::string range_end;
  revision_t start_revision = 0;  // <= 0: from the next revision
  bool prev_kv = false;
  bool filter_put = false;     // etcd's NOPUT filter
  bool filter_delete = false;  // etcd's NODELETE filter
};

struct WatchPollResult {
  std::vector<Event> events;
  // Non-zero: the watcher's next revision was compacted away; the server sends etcd's compacted
  // response (compact_revision set, canceled) and cancels the watcher.
  revision_t compact_revision = 0;
  bool more = false;  // more events are already available: poll again
};

}  // namespace ringkv::storage::mvcc
