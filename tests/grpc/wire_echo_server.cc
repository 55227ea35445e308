// A tiny server for the wire layer's end-to-end test: the real client-port stack (net/tcp listener,
// protocol detection, grpc_server_session, HTTP/1.1) on the runtime, with fixed handlers for real etcd
// methods, so real etcd clients (etcdctl, python grpcio) can be pointed at it. Not a key-value store:
//   etcdserverpb.KV/Range    -> one key-value: the requested key with value "bar" at revision 42
//   etcdserverpb.Watch/Watch -> per create request: "created", then one PUT event (value "v1")
//   GET /health              -> {"health":"true"}
//   POST /v3/kv/put          -> {"received":<body bytes>}
// Prints the chosen loopback port on stdout, serves until SIGTERM/SIGINT (then closes the connections
// still open). Optional argument: the preface deadline in milliseconds.
#include "etcd/rpc.pb.h"
#include "net/grpc/client_connection.h"
#include "net/tcp/listener.h"
#include "runtime/reactor.h"
#include "runtime/when_all.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace ringkv;
using net::grpc::call_ref;

void fill_header(etcdserverpb::ResponseHeader* header) {
  header->set_cluster_id(0x1000);
  header->set_member_id(0x2000);
  header->set_revision(42);
  header->set_raft_term(3);
}

void range(const call_ref& call, std::string_view bytes) {
  etcdserverpb::RangeRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    call->finish(net::grpc::malformed_request_status("cannot parse etcdserverpb.RangeRequest"));
    return;
  }
  etcdserverpb::RangeResponse response;
  fill_header(response.mutable_header());
  auto* kv = response.add_kvs();
  kv->set_key(request.key());
  kv->set_value("bar");
  kv->set_create_revision(2);
  kv->set_mod_revision(42);
  kv->set_version(5);
  response.set_count(1);
  call->respond_message(response);
}

void watch(const call_ref& call) {
  net::grpc::server_call* raw = call.get();
  call->set_stream_callbacks({
      [raw](std::string_view bytes) {
        etcdserverpb::WatchRequest request;
        if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          raw->finish(net::grpc::malformed_request_status("cannot parse etcdserverpb.WatchRequest"));
          return;
        }
        if (!request.has_create_request()) return;
        etcdserverpb::WatchResponse created;
        fill_header(created.mutable_header());
        created.set_watch_id(1);
        created.set_created(true);
        raw->write_message(created);
        etcdserverpb::WatchResponse event;
        fill_header(event.mutable_header());
        event.set_watch_id(1);
        auto* kv = event.add_events()->mutable_kv();
        kv->set_key(request.create_request().key());
        kv->set_value("v1");
        kv->set_mod_revision(43);
        raw->write_message(event);
      },
      [raw] { raw->finish(net::grpc::status::success()); },
      {}});
}

net::grpc::http_reply reply(int status, std::string content_type, std::string body) {
  net::grpc::http_reply reply;
  reply.status = status;
  reply.content_type = std::move(content_type);
  reply.body = std::move(body);
  return reply;
}

runtime::task<net::grpc::http_reply> http(const net::http1::request& request) {
  if (request.path == "/health") co_return reply(200, "application/json", "{\"health\":\"true\"}");
  if (request.path == "/v3/kv/put" && request.method == "POST") {
    co_return reply(200, "application/json", "{\"received\":" + std::to_string(request.body.size()) + "}");
  }
  co_return reply(404, "text/plain", "404 page not found\n");
}

runtime::task<int> serve(std::chrono::milliseconds preface_timeout) {
  auto opened = net::listener::open(net::endpoint::loopback_v4(0));
  if (!opened) {
    std::fprintf(stderr, "listen: %s\n", opened.error_message().c_str());
    co_return 1;
  }
  net::listener listener = std::move(opened).value();
  std::printf("%u\n", static_cast<unsigned>(listener.local().port()));
  std::fflush(stdout);

  net::grpc::service_registry registry;
  registry.add_request_method("/etcdserverpb.KV/Range", &range);
  registry.add_stream_method("/etcdserverpb.Watch/Watch", &watch);
  net::grpc::live_connection_set live;
  net::grpc::client_port_services services;
  services.grpc = &registry;
  services.http = &http;
  services.live = &live;
  net::grpc::client_port_config config;
  config.preface_timeout = preface_timeout;

  auto stop = [&]() -> runtime::task<void> {
    co_await runtime::wait_for_stop();
    co_await listener.close();
    co_await net::grpc::close_client_connections(live);
  };
  auto accept = [&]() -> runtime::task<void> {
    co_await listener.serve([&](net::connection conn) {
      return net::grpc::serve_client_connection(std::move(conn), services, config);
    });
  };
  co_await runtime::when_all(accept(), stop());
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::chrono::milliseconds preface_timeout(argc > 1 ? std::atol(argv[1]) : 10'000);
  runtime::reactor_config config;
  config.shards = 1;
  return runtime::run(config, [=] { return serve(preface_timeout); });
}
