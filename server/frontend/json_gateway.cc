// server/frontend/json_gateway.cc — path table and protobuf<->JSON through the generated descriptors (the
// message types come from the service definitions in proto/etcd, so there is no per-method code).
#include "server/frontend/json_gateway.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>

#include <memory>
#include <utility>

#include "etcd/rpc.pb.h"
#include "etcd/v3election.pb.h"
#include "etcd/v3lock.pb.h"
#include "net/grpc/http1.h"
#include "runtime/json_text.h"

namespace ringkv::server {
namespace {

namespace pb = google::protobuf;

struct route {
  const char* path;  // after the /v3 prefix
  const char* grpc_method;
};

// etcd 3.4's gateway routes (api/etcdserverpb/gw, api/v3lock/v3lockpb/gw, api/v3election/v3electionpb/gw).
constexpr route routes[] = {
    {"/kv/range", "/etcdserverpb.KV/Range"},
    {"/kv/put", "/etcdserverpb.KV/Put"},
    {"/kv/deleterange", "/etcdserverpb.KV/DeleteRange"},
    {"/kv/txn", "/etcdserverpb.KV/Txn"},
    {"/kv/compaction", "/etcdserverpb.KV/Compact"},
    {"/lease/grant", "/etcdserverpb.Lease/LeaseGrant"},
    {"/lease/revoke", "/etcdserverpb.Lease/LeaseRevoke"},
    {"/kv/lease/revoke", "/etcdserverpb.Lease/LeaseRevoke"},
    {"/lease/timetolive", "/etcdserverpb.Lease/LeaseTimeToLive"},
    {"/kv/lease/timetolive", "/etcdserverpb.Lease/LeaseTimeToLive"},
    {"/lease/leases", "/etcdserverpb.Lease/LeaseLeases"},
    {"/kv/lease/leases", "/etcdserverpb.Lease/LeaseLeases"},
    {"/cluster/member/list", "/etcdserverpb.Cluster/MemberList"},
    {"/maintenance/alarm", "/etcdserverpb.Maintenance/Alarm"},
    {"/maintenance/status", "/etcdserverpb.Maintenance/Status"},
    {"/maintenance/defragment", "/etcdserverpb.Maintenance/Defragment"},
    {"/maintenance/hash", "/etcdserverpb.Maintenance/HashKV"},
    {"/maintenance/transfer-leadership", "/etcdserverpb.Maintenance/MoveLeader"},
    {"/auth/enable", "/etcdserverpb.Auth/AuthEnable"},
    {"/auth/disable", "/etcdserverpb.Auth/AuthDisable"},
    {"/auth/authenticate", "/etcdserverpb.Auth/Authenticate"},
    {"/auth/user/add", "/etcdserverpb.Auth/UserAdd"},
    {"/auth/user/get", "/etcdserverpb.Auth/UserGet"},
    {"/auth/user/list", "/etcdserverpb.Auth/UserList"},
    {"/auth/user/delete", "/etcdserverpb.Auth/UserDelete"},
    {"/auth/user/changepw", "/etcdserverpb.Auth/UserChangePassword"},
    {"/auth/user/grant", "/etcdserverpb.Auth/UserGrantRole"},
    {"/auth/user/revoke", "/etcdserverpb.Auth/UserRevokeRole"},
    {"/auth/role/add", "/etcdserverpb.Auth/RoleAdd"},
    {"/auth/role/get", "/etcdserverpb.Auth/RoleGet"},
    {"/auth/role/list", "/etcdserverpb.Auth/RoleList"},
    {"/auth/role/delete", "/etcdserverpb.Auth/RoleDelete"},
    {"/auth/role/grant", "/etcdserverpb.Auth/RoleGrantPermission"},
    {"/auth/role/revoke", "/etcdserverpb.Auth/RoleRevokePermission"},
    {"/lock/lock", "/v3lockpb.Lock/Lock"},
    {"/lock/unlock", "/v3lockpb.Lock/Unlock"},
    {"/election/campaign", "/v3electionpb.Election/Campaign"},
    {"/election/proclaim", "/v3electionpb.Election/Proclaim"},
    {"/election/leader", "/v3electionpb.Election/Leader"},
    {"/election/resign", "/v3electionpb.Election/Resign"},
};

// Streaming routes (grpc-gateway's stream handlers in etcd 3.4).
constexpr route stream_routes[] = {
    {"/watch", "/etcdserverpb.Watch/Watch"},
    {"/lease/keepalive", "/etcdserverpb.Lease/LeaseKeepAlive"},
    {"/maintenance/snapshot", "/etcdserverpb.Maintenance/Snapshot"},
};

// The method for `http_path` in `table`, under the prefixes etcd 3.4 serves (/v3, /v3beta).
template <size_t n>
std::optional<std::string> route_lookup(const route (&table)[n], std::string_view http_path) {
  for (std::string_view prefix : {"/v3beta", "/v3"}) {
    if (http_path.substr(0, prefix.size()) != prefix) continue;
    std::string_view rest = http_path.substr(prefix.size());
    for (const auto& r : table)
      if (rest == r.path) return std::string(r.grpc_method);
    return std::nullopt;
  }
  return std::nullopt;
}

// "/etcdserverpb.KV/Range" -> the method's descriptor in the generated pool.
const pb::MethodDescriptor* find_method(std::string_view grpc_method) {
  if (grpc_method.size() < 2 || grpc_method[0] != '/') return nullptr;
  std::string name(grpc_method.substr(1));
  auto slash = name.find('/');
  if (slash == std::string::npos) return nullptr;
  name[slash] = '.';
  return pb::DescriptorPool::generated_pool()->FindMethodByName(name);
}

std::unique_ptr<pb::Message> new_message(const pb::Descriptor* type) {
  const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(type);
  return prototype ? std::unique_ptr<pb::Message>(prototype->New()) : nullptr;
}

}  // namespace

std::optional<std::string> gateway_grpc_method(std::string_view http_path) {
  return route_lookup(routes, http_path);
}

std::optional<std::string> gateway_stream_method(std::string_view http_path) {
  return route_lookup(stream_routes, http_path);
}

std::vector<std::string_view> split_json_values(std::string_view body) {
  std::vector<std::string_view> values;
  size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (true) {
    while (i < body.size() && is_space(body[i])) ++i;
    if (i == body.size()) return values;
    size_t start = i;
    int depth = 0;
    bool in_string = false;
    for (; i < body.size(); ++i) {
      char c = body[i];
      if (in_string) {
        if (c == '\\') ++i;  // skip the escaped character
        else if (c == '"') in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) break;
      } else if (depth == 0 && is_space(c)) {
        break;  // a bare value (null, 1, ...) ends at a space
      }
    }
    if (i >= body.size() || depth != 0 || in_string) {
      values.push_back(body.substr(start));  // incomplete: its parse reports the error
      return values;
    }
    if (body[i] == '}' || body[i] == ']') ++i;
    values.push_back(body.substr(start, i - start));
  }
}

json_conversion json_to_request(std::string_view grpc_method, std::string_view json) {
  const pb::MethodDescriptor* method = find_method(grpc_method);
  if (!method) return {{}, etcd_errors::unimplemented(std::string(grpc_method))};
  auto message = new_message(method->input_type());
  if (!message) return {{}, etcd_errors::unimplemented(std::string(grpc_method))};
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // as etcd's gateway (it ignores fields it does not know)
  std::string body = json.empty() ? std::string("{}") : std::string(json);
  auto parsed = pb::util::JsonStringToMessage(body, message.get(), options);
  if (!parsed.ok()) return {{}, {grpc_code::invalid_argument, std::string(parsed.message())}};
  json_conversion out;
  message->SerializeToString(&out.bytes);
  return out;
}

json_conversion response_to_json(std::string_view grpc_method, std::string_view protobuf_bytes) {
  const pb::MethodDescriptor* method = find_method(grpc_method);
  if (!method) return {{}, etcd_errors::unimplemented(std::string(grpc_method))};
  auto message = new_message(method->output_type());
  if (!message || !message->ParseFromArray(protobuf_bytes.data(), int(protobuf_bytes.size())))
    return {{}, {grpc_code::internal, "ringkv: cannot decode the response"}};
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;  // etcd's gateway marshals with OrigName
  json_conversion out;
  auto printed = pb::util::MessageToJsonString(*message, &out.bytes, options);
  if (!printed.ok()) return {{}, {grpc_code::internal, std::string(printed.message())}};
  return out;
}

std::string error_json(const rpc_status& status) {
  std::string out = "{\"error\":";
  runtime::append_json_string(out, status.message);
  out += ",\"message\":";
  runtime::append_json_string(out, status.message);
  out += ",\"code\":" + std::to_string(int(status.code)) + "}";
  return out;
}

json_conversion stream_result_line(std::string_view grpc_method, std::string_view protobuf_bytes) {
  json_conversion json = response_to_json(grpc_method, protobuf_bytes);
  if (!json.status.ok()) return json;
  json.bytes.insert(0, "{\"result\":");
  json.bytes += "}\n";
  return json;
}

std::string stream_error_line(const rpc_status& status) {
  int http_status = http_status_for(status.code);
  std::string out = "{\"error\":{\"grpc_code\":" + std::to_string(int(status.code)) +
                    ",\"http_code\":" + std::to_string(http_status) + ",\"message\":";
  runtime::append_json_string(out, status.message);
  out += ",\"http_status\":";
  runtime::append_json_string(out, std::string(net::http1::reason_phrase(http_status)));
  out += "}}\n";
  return out;
}

int http_status_for(grpc_code code) {
  switch (code) {
    case grpc_code::ok: return 200;
    case grpc_code::cancelled: return 408;
    case grpc_code::invalid_argument:
    case grpc_code::failed_precondition:
    case grpc_code::out_of_range: return 400;
    case grpc_code::deadline_exceeded: return 504;
    case grpc_code::not_found: return 404;
    case grpc_code::already_exists:
    case grpc_code::aborted: return 409;
    case grpc_code::permission_denied: return 403;
    case grpc_code::unauthenticated: return 401;
    case grpc_code::resource_exhausted: return 429;
    case grpc_code::unimplemented: return 501;
    case grpc_code::unavailable: return 503;
    default: return 500;
  }
}

}  // namespace ringkv::server
