// put / range / txn-put / txn-mixed / mixed / lease-keepalive request makers.
#include "bench/loadgen/kv_sources.h"

#include <cassert>

#include "bench/loadgen/key_gen.h"
#include "etcd/rpc.pb.h"

namespace ringkv::bench {
namespace {

class put_source final : public request_source {
 public:
  put_source(const bench_options& o, const workload_data& data, client::grpc_connection& client, uint32_t client_index)
      : request_source(client), options_(o), picker_(o.key_space_size, o.sequential_keys, 0x5eed + client_index) {
    request_.set_value(data.value);
  }
  runtime::task<client::status> issue(uint64_t index) override {
    make_etcd_key(*request_.mutable_key(), options_.key_size, picker_.pick(index));
    client::status status = co_await client_.call(client::rpc_method::put, request_, &response_, {}, nullptr, nullptr, token_);
    co_return status;
  }

 private:
  const bench_options& options_;
  key_picker picker_;
  etcdserverpb::PutRequest request_;
  etcdserverpb::PutResponse response_;
};

class range_source final : public request_source {
 public:
  range_source(const bench_options& o, client::grpc_connection& client) : request_source(client) {
    request_.set_key(o.range_key);
    if (!o.range_end.empty()) request_.set_range_end(o.range_end);
    request_.set_serializable(o.consistency == read_consistency::serializable);
  }
  runtime::task<client::status> issue(uint64_t) override {
    client::status status = co_await client_.call(client::rpc_method::range, request_, &response_, {}, nullptr, nullptr, token_);
    co_return status;
  }

 private:
  etcdserverpb::RangeRequest request_;
  etcdserverpb::RangeResponse response_;
};

// etcd's txn-put: `txn-ops` puts in one Txn (no compares), keys (i*ops + j) % key-space.
class txn_put_source final : public request_source {
 public:
  txn_put_source(const bench_options& o, const workload_data& data, client::grpc_connection& client)
      : request_source(client), options_(o) {
    for (uint32_t j = 0; j < o.txn_ops; ++j) request_.add_success()->mutable_request_put()->set_value(data.value);
  }
  runtime::task<client::status> issue(uint64_t index) override {
    for (uint32_t j = 0; j < options_.txn_ops; ++j) {
      const uint64_t key = (index * options_.txn_ops + j) % options_.key_space_size;
      make_etcd_key(*request_.mutable_success(static_cast<int>(j))->mutable_request_put()->mutable_key(),
                    options_.key_size, key);
    }
    client::status status = co_await client_.call(client::rpc_method::txn, request_, &response_);
    co_return status;
  }

 private:
  const bench_options& options_;
  etcdserverpb::TxnRequest request_;
  etcdserverpb::TxnResponse response_;
};

// Decides read or write per request so that reads:writes = rw_ratio:1 over every (ratio+1) requests.
bool is_write(double rw_ratio, uint64_t index) {
  const double period = rw_ratio + 1.0;
  return static_cast<uint64_t>(static_cast<double>(index + 1) / period) >
         static_cast<uint64_t>(static_cast<double>(index) / period);
}

// mixed: serializable or linearizable Range of one key, or a Put, in the ratio --rw-ratio : 1.
class mixed_source final : public request_source {
 public:
  mixed_source(const bench_options& o, const workload_data& data, client::grpc_connection& client, uint32_t client_index)
      : request_source(client), options_(o), picker_(o.key_space_size, o.sequential_keys, 0x3a11 + client_index) {
    put_.set_value(data.value);
    range_.set_serializable(o.consistency == read_consistency::serializable);
  }
  runtime::task<client::status> issue(uint64_t index) override {
    const uint64_t key = picker_.pick(index);
    if (is_write(options_.rw_ratio, index)) {
      make_etcd_key(*put_.mutable_key(), options_.key_size, key);
      client::status status = co_await client_.call(client::rpc_method::put, put_, nullptr);
      if (status.ok()) ++writes_;
      co_return status;
    }
    make_etcd_key(*range_.mutable_key(), options_.key_size, key);
    client::status status = co_await client_.call(client::rpc_method::range, range_, &range_response_);
    co_return status;
  }
  void add_counters(bench_result& result) const override { result.add_counter(counter_writes, writes_); }

 private:
  const bench_options& options_;
  key_picker picker_;
  etcdserverpb::PutRequest put_;
  etcdserverpb::RangeRequest range_;
  etcdserverpb::RangeResponse range_response_;
  uint64_t writes_ = 0;
};

// txn-mixed: read-modify-write. Every request Ranges one key; one request in (rw_ratio + 1) then does
// Txn(if mod_revision == what was read: put, else: range) -- an optimistic compare-and-swap, so that
// request costs both calls. A lost race counts as "txn compare failed" (the request still succeeded).
class txn_mixed_source final : public request_source {
 public:
  txn_mixed_source(const bench_options& o, const workload_data& data, client::grpc_connection& client, uint32_t client_index)
      : request_source(client), options_(o), picker_(o.key_space_size, o.sequential_keys, 0x7c5 + client_index) {
    range_.set_serializable(o.consistency == read_consistency::serializable);
    auto* compare = txn_.add_compare();
    compare->set_result(etcdserverpb::Compare::EQUAL);
    compare->set_target(etcdserverpb::Compare::MOD);
    txn_.add_success()->mutable_request_put()->set_value(data.value);
    txn_.add_failure()->mutable_request_range();
  }
  runtime::task<client::status> issue(uint64_t index) override {
    const uint64_t key = picker_.pick(index);
    make_etcd_key(*range_.mutable_key(), options_.key_size, key);
    client::status status = co_await client_.call(client::rpc_method::range, range_, &range_response_);
    if (!status.ok() || !is_write(options_.rw_ratio, index)) co_return status;
    const int64_t seen = range_response_.kvs_size() > 0 ? range_response_.kvs(0).mod_revision() : 0;
    auto* compare = txn_.mutable_compare(0);
    compare->set_key(range_.key());
    compare->set_mod_revision(seen);
    txn_.mutable_success(0)->mutable_request_put()->set_key(range_.key());
    txn_.mutable_failure(0)->mutable_request_range()->set_key(range_.key());
    status = co_await client_.call(client::rpc_method::txn, txn_, &txn_response_);
    if (status.ok()) {
      if (txn_response_.succeeded()) ++writes_;
      else ++compare_failed_;
    }
    co_return status;
  }
  void add_counters(bench_result& result) const override {
    result.add_counter(counter_writes, writes_);
    result.add_counter(counter_txn_compare_failed, compare_failed_);
  }

 private:
  const bench_options& options_;
  key_picker picker_;
  etcdserverpb::RangeRequest range_;
  etcdserverpb::RangeResponse range_response_;
  etcdserverpb::TxnRequest txn_;
  etcdserverpb::TxnResponse txn_response_;
  uint64_t writes_ = 0;
  uint64_t compare_failed_ = 0;
};

// lease-keepalive: each client grants one lease (TTL 100 s, as etcd's tool) and keeps it alive on its
// own LeaseKeepAlive stream; one request = one keepalive sent and its answer received.
class lease_keepalive_source final : public request_source {
 public:
  static constexpr int64_t lease_ttl_s = 100;

  explicit lease_keepalive_source(client::grpc_connection& client) : request_source(client) {}
  ~lease_keepalive_source() override { assert(!stream_ && "finish() closes the stream"); }

  runtime::task<client::status> prepare() override {
    etcdserverpb::LeaseGrantRequest grant;
    grant.set_ttl(lease_ttl_s);
    etcdserverpb::LeaseGrantResponse granted;
    client::status status = co_await client_.call(client::rpc_method::lease_grant, grant, &granted);
    if (!status.ok()) co_return status;
    if (!granted.error().empty()) co_return client::status{grpc_code::unknown, granted.error()};
    request_.set_id(granted.id());
    stream_ = co_await client_.open_stream(client::rpc_method::lease_keepalive);
    if (!stream_) co_return client::status{grpc_code::unavailable, "could not open a LeaseKeepAlive stream"};
    co_return status;
  }
  runtime::task<client::status> issue(uint64_t) override {
    client::status status = co_await stream_->send(request_);
    if (!status.ok()) co_return status;
    status = co_await stream_->receive(response_);
    if (status.ok() && response_.ttl() <= 0) co_return client::status{grpc_code::not_found, "lease expired or revoked"};
    co_return status;
  }
  runtime::task<void> finish() override {
    if (stream_) co_await stream_->close();
    stream_.reset();
  }

 private:
  std::unique_ptr<client::grpc_stream> stream_;
  etcdserverpb::LeaseKeepAliveRequest request_;
  etcdserverpb::LeaseKeepAliveResponse response_;
};

}  // namespace

std::unique_ptr<request_source> make_request_source(const bench_options& options, const workload_data& data,
                                                    client::grpc_connection& client, uint32_t client_index) {
  switch (options.workload) {
    case workload_kind::put:
      return std::make_unique<put_source>(options, data, client, client_index);
    case workload_kind::range:
      return std::make_unique<range_source>(options, client);
    case workload_kind::txn_put:
      return std::make_unique<txn_put_source>(options, data, client);
    case workload_kind::txn_mixed:
      return std::make_unique<txn_mixed_source>(options, data, client, client_index);
    case workload_kind::mixed:
      return std::make_unique<mixed_source>(options, data, client, client_index);
    case workload_kind::lease_keepalive:
      return std::make_unique<lease_keepalive_source>(client);
    case workload_kind::watch:
    case workload_kind::watch_latency:
      break;
  }
  assert(false && "watch workloads have their own driver");
  return nullptr;
}

}  // namespace ringkv::bench
