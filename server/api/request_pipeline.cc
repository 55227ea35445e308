// server/api/request_pipeline.cc — see request_pipeline.h.
#include "server/api/request_pipeline.h"

#include <cassert>

#include "etcd/rpc.pb.h"
#include "net/grpc/server_call.h"
#include "runtime/notifier.h"
#include "runtime/spawn.h"
#include "runtime/timer.h"
#include "server/common/streamed_reply.h"
#include "server/replica/membership.h"

namespace ringkv::server {

using net::grpc::call_ref;

net::grpc::status to_grpc(const rpc_status& status) {
  return net::grpc::status{net::grpc::status_code(uint8_t(status.code)), status.message};
}

namespace {

constexpr size_t streamed_queue_bytes = size_t{1} << 20;    // queued on the call before waiting for the drain

// Sends `reply` as the call's one response message, a slice per loop turn while the call's queued output
// is under streamed_queue_bytes and waiting for its drain otherwise (a client that stops reading costs
// nothing more), then ends the call. Ends at once, sending nothing more, when the call goes away.
runtime::task<void> send_streamed(call_ref call, std::shared_ptr<streamed_reply> reply) {
  runtime::notifier wake;
  call->set_drain_callback([&wake] { wake.notify(); });
  call->set_cancel_callback([&wake] { wake.notify(); });
  struct forget_callbacks {  // they point into this frame
    call_ref& call;
    ~forget_callbacks() {
      call->set_drain_callback(nullptr);
      call->set_cancel_callback(nullptr);
    }
  } forget{call};
  if (!call->begin_message(reply->total_bytes())) co_return;
  std::string slice;
  while (!reply->done()) {
    while (call->alive() && call->queued_output_bytes() >= streamed_queue_bytes) co_await wake;
    if (!call->alive()) co_return;
    slice.clear();
    if (rpc_status status = reply->next(slice, streamed_reply_slice_bytes); !status.ok()) {
      call->finish(to_grpc(status));
      co_return;
    }
    call->write_message_bytes(slice);
    co_await runtime::yield();
  }
  call->finish(net::grpc::status::success());
}

// The JSON gateway needs the whole message: the slices joined.
void join_streamed(unary_outcome& outcome) {
  std::string whole;
  while (outcome.status.ok() && !outcome.streamed->done())
    outcome.status = outcome.streamed->next(whole, streamed_reply_slice_bytes);
  if (outcome.status.ok()) outcome.response = std::move(whole);
  outcome.streamed.reset();
}

}  // namespace

rpc_status request_pipeline::admit(const call_info& call, auth::caller& who) const {
  for (const request_stage* stage : stages_) {
    rpc_status status = stage->admit(call);
    if (!status.ok()) return status;
  }
  return authenticator_ != nullptr ? authenticator_->authenticate(call, who) : rpc_status{};
}

void request_pipeline::add_unary_handler(net::grpc::service_registry& registry, std::string path,
                                         unary_handler handler) {
  [[maybe_unused]] auto [it, added] = unary_.try_emplace(path, unary_entry{path, std::move(handler)});
  assert(added && "a unary method is entered once");
  registry.add_request_method(std::move(path), std::bind_front(&request_pipeline::on_unary_call, this, &it->second));
}

void request_pipeline::add_server_stream(net::grpc::service_registry& registry, std::string path,
                                         net::grpc::request_handler handler) {
  [[maybe_unused]] auto [it, added] = server_streams_.try_emplace(path, std::move(handler));
  assert(added && "a streaming method is entered once");
  registry.add_request_method(std::move(path), std::bind_front(&request_pipeline::on_server_stream, this, &it->second),
                              net::grpc::call_type::server_stream);
}

void request_pipeline::add_stream(net::grpc::service_registry& registry, std::string path,
                                  net::grpc::stream_handler handler) {
  [[maybe_unused]] auto [it, added] = streams_.try_emplace(path, std::move(handler));
  assert(added && "a streaming method is entered once");
  registry.add_stream_method(std::move(path), std::bind_front(&request_pipeline::on_stream, this, &it->second));
}

void request_pipeline::on_unary_call(const unary_entry* entry, const call_ref& call, std::string_view bytes) const {
  runtime::spawn(serve_unary(call, entry, std::string(bytes)));
}

runtime::task<void> request_pipeline::serve_unary(call_ref call, const unary_entry* entry, std::string bytes) const {
  auth::caller who;
  if (rpc_status admitted = admit({entry->path, bytes, false, call->client_cert_cn(), call->metadata("token")}, who);
      !admitted.ok()) {
    call->finish(to_grpc(admitted));
    co_return;
  }
  unary_outcome outcome = co_await entry->handler(std::move(bytes), std::move(who));
  if (!call->alive()) co_return;
  if (outcome.status.ok() && outcome.streamed) {
    co_await send_streamed(call, std::move(outcome.streamed));
    co_return;
  }
  if (outcome.status.ok()) call->respond(outcome.response);
  else call->finish(to_grpc(outcome.status));
}

runtime::task<unary_outcome> request_pipeline::call_unary(std::string_view path, std::string bytes,
                                                          std::string token) const {
  auto it = unary_.find(std::string(path));
  if (it == unary_.end()) co_return unary::failure(etcd_errors::unimplemented(path));
  auth::caller who;
  if (rpc_status admitted = admit({it->first, bytes, false, {}, token}, who); !admitted.ok())
    co_return unary::failure(admitted);
  unary_outcome outcome = co_await it->second.handler(std::move(bytes), std::move(who));
  if (outcome.streamed) join_streamed(outcome);
  co_return outcome;
}

bool request_pipeline::admit_stream(const call_ref& call) const {
  auth::caller who;  // streams act for nobody: Watch checks each watcher's creation itself
  rpc_status admitted = admit({call->path(), {}, true, call->client_cert_cn(), call->metadata("token")}, who);
  if (!admitted.ok()) call->finish(to_grpc(admitted));
  return admitted.ok();
}

void request_pipeline::on_server_stream(const net::grpc::request_handler* handler, const call_ref& call,
                                        std::string_view bytes) const {
  if (admit_stream(call)) (*handler)(call, bytes);
}

void request_pipeline::on_stream(const net::grpc::stream_handler* handler, const call_ref& call) const {
  if (admit_stream(call)) (*handler)(call);
}

rpc_status learner_refusal::admit(const call_info& call) const {
  if (!is_learner_) return {};
  if (call.stream) return member_errors::not_for_learner();
  if (call.method == "/etcdserverpb.Maintenance/Status") return {};
  if (call.method == "/etcdserverpb.KV/Range") {
    etcdserverpb::RangeRequest request;
    if (request.ParseFromArray(call.request.data(), int(call.request.size())) && request.serializable()) return {};
  }
  return member_errors::not_for_learner();
}

}  // namespace ringkv::server
