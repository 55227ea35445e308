// server/api/request_pipeline.h — the one way into the etcd services: every call, gRPC and JSON gateway
// alike, passes the same chain of named stages (etcd 3.4's gRPC interceptors) before its service
// method runs. Stages: a learner's refusals; then the call's authenticator (auth_gate.h), which turns
// the call's token into the caller the method acts for. Request limits and metrics plug in as further
// stages, in the order they are added. The services enter their methods here
// (add_unary / add_server_stream / add_stream), which also puts them in the gRPC registry; the JSON
// gateway calls the same unary methods through call_unary.
//
//   gRPC call ──> registry ──> serve_unary ──┐
//   JSON gateway ──> call_unary ─────────────┴─> admit (stages) ──┬─ refused: the stage's status
//                                                                  └─ parse Request ─> the service's method
#pragma once

#include <concepts>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/grpc/grpc_status.h"
#include "net/grpc/service_registry.h"
#include "runtime/task.h"
#include "server/auth/request_checks.h"
#include "server/common/errors.h"
#include "server/common/unary_helpers.h"

namespace ringkv::server {

// The result of a unary method: a serialized response, or the status the call ends with.
using unary_outcome = apply_result;

net::grpc::status to_grpc(const rpc_status& status);

// What a stage may look at. Views are valid during admit() only.
struct call_info {
  std::string_view method;   // "/etcdserverpb.KV/Range"
  std::string_view request;  // the request bytes (empty when a stream opens)
  bool stream = false;       // a client-, server- or bidi-streaming call
  // The verified TLS client certificate's CN of the call's connection (gRPC calls; the JSON gateway
  // does not carry it yet). Empty without TLS or without a client certificate. For the auth stage.
  std::string_view client_cert_cn;
  // The call's auth token: gRPC metadata "token" (the JSON gateway's Authorization header). Empty: none.
  std::string_view token;
};

class request_stage {
 public:
  // ok to let the call through, or the status the call ends with.
  virtual rpc_status admit(const call_info& call) const = 0;

 protected:
  ~request_stage() = default;
};

// The last stage: who the call acts for (auth_gate.h). Refuses a bad token or a call the caller may
// not make; `who` stays empty when the call carries no token.
class call_authenticator {
 public:
  virtual rpc_status authenticate(const call_info& call, auth::caller& who) const = 0;

 protected:
  ~call_authenticator() = default;
};

// A unary method: request bytes and the caller in, a response or a status out.
using unary_handler = std::function<runtime::task<unary_outcome>(std::string bytes, auth::caller who)>;

// Parses `bytes` as a Request (grpc-go's status when they do not parse) and runs `method` on it:
// `method(request, bytes, who)` when the method acts for the caller (it proposes on its behalf),
// `method(request, bytes)` when the method wants the bytes too (to propose them unchanged), else
// `method(request)`. The request lives in this frame while the method runs.
template <typename Request, typename Method>
runtime::task<unary_outcome> parse_then_call(Method method, std::string bytes, auth::caller who) {
  Request request;
  if (!unary::parse(request, bytes)) co_return unary::failure(unary::malformed());
  if constexpr (std::invocable<Method&, const Request&, std::string, auth::caller>) {
    co_return co_await method(request, std::move(bytes), std::move(who));
  } else if constexpr (std::invocable<Method&, const Request&, std::string>) {
    co_return co_await method(request, std::move(bytes));
  } else {
    co_return co_await method(request);
  }
}

class request_pipeline {
 public:
  // Appends a stage; it must outlive the pipeline.
  void add(const request_stage& stage) { stages_.push_back(&stage); }
  // Set once; it must outlive the pipeline. Unset: every call acts for nobody.
  void set_authenticator(const call_authenticator& authenticator) { authenticator_ = &authenticator; }
  // The first refusal, in the order the stages were added, then the authenticator's; ok when all
  // admit the call (`who`: the caller).
  rpc_status admit(const call_info& call, auth::caller& who) const;

  // Enters a unary method in `registry` and in call_unary's table; `method` takes the parsed Request
  // (see parse_then_call). The pipeline outlives the registry's use of it.
  template <typename Request, typename Method>
  void add_unary(net::grpc::service_registry& registry, std::string path, Method method) {
    add_unary_handler(registry, std::move(path), std::bind_front(&parse_then_call<Request, Method>, std::move(method)));
  }
  // A server-streaming method (Snapshot, Observe): the handler runs once the stages admit the call.
  void add_server_stream(net::grpc::service_registry& registry, std::string path,
                         net::grpc::request_handler handler);
  // A bidirectional stream (Watch, LeaseKeepAlive): the handler runs once the stages admit the call.
  void add_stream(net::grpc::service_registry& registry, std::string path, net::grpc::stream_handler handler);

  // The JSON gateway: the unary method registered at `path`, through the stages (`token`: the
  // Authorization header's value).
  runtime::task<unary_outcome> call_unary(std::string_view path, std::string bytes, std::string token = {}) const;

 private:
  struct unary_entry {
    std::string path;
    unary_handler handler;
  };
  void add_unary_handler(net::grpc::service_registry& registry, std::string path, unary_handler handler);
  // The registry's handler of a unary method: one coroutine per call.
  void on_unary_call(const unary_entry* entry, const net::grpc::call_ref& call, std::string_view bytes) const;
  runtime::task<void> serve_unary(net::grpc::call_ref call, const unary_entry* entry, std::string bytes) const;
  // The registry's handlers of streaming methods: admit, then the service's handler.
  void on_server_stream(const net::grpc::request_handler* handler, const net::grpc::call_ref& call,
                        std::string_view bytes) const;
  void on_stream(const net::grpc::stream_handler* handler, const net::grpc::call_ref& call) const;
  bool admit_stream(const net::grpc::call_ref& call) const;  // false: finished with the refusal

  std::vector<const request_stage*> stages_;
  const call_authenticator* authenticator_ = nullptr;
  // Entries are never moved (node-based maps): the registry's handlers point at them.
  std::unordered_map<std::string, unary_entry> unary_;  // "/etcdserverpb.KV/Range" -> method
  std::unordered_map<std::string, net::grpc::request_handler> server_streams_;
  std::unordered_map<std::string, net::grpc::stream_handler> streams_;
};

// Enters one service's methods through a pipeline: `kv.unary("Range", &kv_service::range)` registers
// "<prefix>Range" with the Request type taken from the method's first parameter.
template <typename Service>
class service_methods {
 public:
  // `prefix` is the service's path with the slashes: "/etcdserverpb.KV/".
  service_methods(request_pipeline& pipeline, net::grpc::service_registry& registry, Service& service,
                  std::string_view prefix)
      : pipeline_(pipeline), registry_(registry), service_(service), prefix_(prefix) {}

  template <typename Request, typename... Bytes>
  void unary(std::string_view name, runtime::task<unary_outcome> (Service::*method)(const Request&, Bytes...)) {
    pipeline_.add_unary<Request>(registry_, path(name), std::bind_front(method, &service_));
  }
  // A method object taking the parsed Request (propose_as<Request>).
  template <template <typename> typename Method, typename Request>
  void unary(std::string_view name, Method<Request> method) {
    pipeline_.add_unary<Request>(registry_, path(name), std::move(method));
  }
  void server_stream(std::string_view name, void (Service::*method)(const net::grpc::call_ref&, std::string_view)) {
    pipeline_.add_server_stream(registry_, path(name), std::bind_front(method, &service_));
  }
  void stream(std::string_view name, void (Service::*method)(const net::grpc::call_ref&)) {
    pipeline_.add_stream(registry_, path(name), std::bind_front(method, &service_));
  }

 private:
  std::string path(std::string_view name) const { return std::string(prefix_).append(name); }

  request_pipeline& pipeline_;
  net::grpc::service_registry& registry_;
  Service& service_;
  std::string_view prefix_;
};

// etcd 3.4's learner: it serves Status and serializable Range only, and no stream at all
// (Unavailable "etcdserver: rpc not supported for learner").
class learner_refusal final : public request_stage {
 public:
  // `is_learner` is the member's own flag (it changes when the member is promoted); it outlives this.
  explicit learner_refusal(const bool& is_learner) : is_learner_(is_learner) {}
  rpc_status admit(const call_info& call) const override;

 private:
  const bool& is_learner_;
};

}  // namespace ringkv::server
