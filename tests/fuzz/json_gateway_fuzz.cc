// libFuzzer target: the JSON gateway's request parsing (server/frontend/json_gateway) and the protobuf
// request decoding + etcd's request checks (server/api/validate) that every gRPC call goes through.
// Byte 0: bit 0 picks the input form, the other bits one of the gateway's routes.
//   JSON      split_json_values() on the body (pieces lie inside it, in order), json_to_request() on
//             each piece; a request it accepts must parse as the method's protobuf type.
//   protobuf  the bytes parsed as the route's request type (as a gRPC call does), then etcd's checks for
//             KV requests; a parsed message must re-serialize to bytes that parse to an equal message.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "etcd/rpc.pb.h"
#include "server/api/validate.h"
#include "server/frontend/json_gateway.h"

namespace {

using namespace ringkv::server;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const char* const routes[] = {
    "/v3/kv/range", "/v3/kv/put", "/v3/kv/deleterange", "/v3/kv/txn", "/v3/kv/compaction",
    "/v3/lease/grant", "/v3/lease/revoke", "/v3/lease/timetolive", "/v3/lease/leases",
    "/v3/cluster/member/list", "/v3/maintenance/alarm", "/v3/maintenance/status",
    "/v3/maintenance/hash", "/v3/maintenance/transfer-leadership",
};
constexpr size_t route_count = sizeof routes / sizeof routes[0];

std::unique_ptr<google::protobuf::Message> request_for(std::string_view method) {
  if (method == "/etcdserverpb.KV/Range") return std::make_unique<etcdserverpb::RangeRequest>();
  if (method == "/etcdserverpb.KV/Put") return std::make_unique<etcdserverpb::PutRequest>();
  if (method == "/etcdserverpb.KV/DeleteRange") return std::make_unique<etcdserverpb::DeleteRangeRequest>();
  if (method == "/etcdserverpb.KV/Txn") return std::make_unique<etcdserverpb::TxnRequest>();
  if (method == "/etcdserverpb.KV/Compact") return std::make_unique<etcdserverpb::CompactionRequest>();
  if (method == "/etcdserverpb.Lease/LeaseGrant") return std::make_unique<etcdserverpb::LeaseGrantRequest>();
  if (method == "/etcdserverpb.Lease/LeaseRevoke") return std::make_unique<etcdserverpb::LeaseRevokeRequest>();
  if (method == "/etcdserverpb.Lease/LeaseTimeToLive") return std::make_unique<etcdserverpb::LeaseTimeToLiveRequest>();
  if (method == "/etcdserverpb.Lease/LeaseLeases") return std::make_unique<etcdserverpb::LeaseLeasesRequest>();
  if (method == "/etcdserverpb.Cluster/MemberList") return std::make_unique<etcdserverpb::MemberListRequest>();
  if (method == "/etcdserverpb.Maintenance/Alarm") return std::make_unique<etcdserverpb::AlarmRequest>();
  if (method == "/etcdserverpb.Maintenance/Status") return std::make_unique<etcdserverpb::StatusRequest>();
  if (method == "/etcdserverpb.Maintenance/HashKV") return std::make_unique<etcdserverpb::HashKVRequest>();
  if (method == "/etcdserverpb.Maintenance/MoveLeader") return std::make_unique<etcdserverpb::MoveLeaderRequest>();
  return nullptr;
}

void run_checks(const google::protobuf::Message& request) {
  if (auto* r = dynamic_cast<const etcdserverpb::RangeRequest*>(&request)) check_range(*r);
  if (auto* r = dynamic_cast<const etcdserverpb::PutRequest*>(&request)) check_put(*r);
  if (auto* r = dynamic_cast<const etcdserverpb::DeleteRangeRequest*>(&request)) check_delete_range(*r);
  if (auto* r = dynamic_cast<const etcdserverpb::TxnRequest*>(&request)) check_txn(*r, 128);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::optional<std::string> method = gateway_grpc_method(routes[(data[0] >> 1) % route_count]);
  check(method.has_value());
  std::unique_ptr<google::protobuf::Message> request = request_for(*method);
  check(request != nullptr);
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    size_t after = 0;
    for (std::string_view piece : split_json_values(body)) {
      check(piece.data() >= body.data() + after && piece.data() + piece.size() <= body.data() + body.size());
      after = size_t(piece.data() - body.data()) + piece.size();
      const json_conversion converted = json_to_request(*method, piece);
      if (!converted.status.ok()) continue;
      check(request->ParseFromString(converted.bytes));
      run_checks(*request);
    }
    return 0;
  }
  if (!request->ParseFromArray(body.data(), int(body.size()))) return 0;
  run_checks(*request);
  const std::string once = request->SerializeAsString();
  std::unique_ptr<google::protobuf::Message> again(request->New());
  check(again->ParseFromString(once));
  check(again->SerializeAsString() == once);
  return 0;
}
