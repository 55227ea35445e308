// ringkv-bench accepts etcd benchmark tool command lines unchanged, with etcd's defaults, and rejects
// bad input with a clear message.
#include "bench/loadgen/options.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringkv::bench {
namespace {

std::variant<bench_options, parse_error> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "ringkv-bench");
  return parse_options(static_cast<int>(args.size()), args.data());
}

bench_options parse_ok(std::vector<const char*> args) {
  auto result = parse(args);
  if (auto* error = std::get_if<parse_error>(&result)) {
    ADD_FAILURE() << error->message;
    return {};
  }
  return std::get<bench_options>(result);
}

std::string parse_fail(std::vector<const char*> args) {
  auto result = parse(args);
  if (!std::holds_alternative<parse_error>(result)) {
    ADD_FAILURE() << "expected an error";
    return {};
  }
  return std::get<parse_error>(result).message;
}

TEST(Options, EtcdPutCommandLine) {
  auto o = parse_ok({"--endpoints=127.0.0.1:2379", "--conns=16", "--clients=256", "put", "--total=100000",
                     "--key-size=8", "--val-size=256", "--sequential-keys", "--key-space-size=100000"});
  EXPECT_EQ(o.workload, workload_kind::put);
  ASSERT_EQ(o.endpoints.size(), 1u);
  EXPECT_EQ(o.endpoints[0].host, "127.0.0.1");
  EXPECT_EQ(o.endpoints[0].port, 2379);
  EXPECT_EQ(o.conns, 16u);
  EXPECT_EQ(o.clients, 256u);
  EXPECT_EQ(o.total, 100000u);
  EXPECT_EQ(o.key_size, 8u);
  EXPECT_EQ(o.val_size, 256u);
  EXPECT_TRUE(o.sequential_keys);
  EXPECT_EQ(o.key_space_size, 100000u);
}

TEST(Options, TlsFlagsAsEtcdsTool) {
  auto o = parse_ok({"--cacert=ca.crt", "--cert=c.crt", "--key=c.key", "put"});
  EXPECT_TRUE(o.tls);
  EXPECT_EQ(o.cacert, "ca.crt");
  EXPECT_EQ(o.cert, "c.crt");
  EXPECT_EQ(o.key, "c.key");
  auto https = parse_ok({"--endpoints=https://127.0.0.1:2379", "put"});
  EXPECT_TRUE(https.tls);
  EXPECT_EQ(https.endpoints[0].port, 2379);
  EXPECT_FALSE(parse_ok({"put"}).tls);
}

TEST(Options, EtcdDefaults) {
  auto o = parse_ok({"put"});
  EXPECT_EQ(o.conns, 1u);
  EXPECT_EQ(o.clients, 1u);
  EXPECT_EQ(o.total, 10000u);
  EXPECT_EQ(o.key_size, 8u);
  EXPECT_EQ(o.val_size, 8u);
  EXPECT_EQ(o.key_space_size, 1u);
  EXPECT_FALSE(o.sequential_keys);
  EXPECT_EQ(o.endpoints[0].port, 2379);
  auto w = parse_ok({"watch"});
  EXPECT_EQ(w.key_size, 32u);
  EXPECT_EQ(w.streams, 10u);
  EXPECT_EQ(w.watch_per_stream, 100u);
  EXPECT_EQ(w.put_total, 1000u);
  auto wl = parse_ok({"watch-latency"});
  EXPECT_EQ(wl.put_rate, 100u);
  EXPECT_EQ(wl.val_size, 32u);
}

TEST(Options, SpaceSeparatedValuesAndGlobalFlagsAfterTheSubcommand) {
  auto o = parse_ok({"put", "--total", "500", "--endpoints", "http://localhost:23790,10.0.0.2:2379", "--clients", "4"});
  EXPECT_EQ(o.total, 500u);
  EXPECT_EQ(o.clients, 4u);
  ASSERT_EQ(o.endpoints.size(), 2u);
  EXPECT_EQ(o.endpoints[0].host, "127.0.0.1");
  EXPECT_EQ(o.endpoints[0].port, 23790);
  EXPECT_EQ(o.endpoints[1].host, "10.0.0.2");
}

TEST(Options, RangeKeyAndConsistency) {
  auto o = parse_ok({"range", "foo", "--consistency=s", "--total=10"});
  EXPECT_EQ(o.workload, workload_kind::range);
  EXPECT_EQ(o.range_key, "foo");
  EXPECT_EQ(o.range_end, "");
  EXPECT_EQ(o.consistency, read_consistency::serializable);
  auto l = parse_ok({"range", "a", "z"});
  EXPECT_EQ(l.range_end, "z");
  EXPECT_EQ(l.consistency, read_consistency::linearizable);
  EXPECT_NE(parse_fail({"range"}).find("KEY"), std::string::npos);
  EXPECT_NE(parse_fail({"range", "foo", "--consistency=x"}).find("consistency"), std::string::npos);
}

TEST(Options, OurOwnFlags) {
  auto o = parse_ok({"--duration=1m30s", "--rate=2500.5", "--json", "--target-leader", "mixed", "--rw-ratio=4"});
  EXPECT_EQ(o.duration, std::chrono::seconds(90));
  EXPECT_DOUBLE_EQ(o.rate_per_s, 2500.5);
  EXPECT_TRUE(o.json);
  EXPECT_TRUE(o.target_leader);
  EXPECT_EQ(o.workload, workload_kind::mixed);
  EXPECT_DOUBLE_EQ(o.rw_ratio, 4.0);
  auto t = parse_ok({"txn-put", "--txn-ops=4", "--key-space-size=100"});
  EXPECT_EQ(t.txn_ops, 4u);
  auto l = parse_ok({"lease-keepalive", "--total=50"});
  EXPECT_EQ(l.total, 50u);
  auto b = parse_ok({"put", "--sequential-keys=false"});
  EXPECT_FALSE(b.sequential_keys);
}

TEST(Options, GoDurations) {
  std::chrono::nanoseconds d{};
  EXPECT_TRUE(parse_go_duration("250ms", d));
  EXPECT_EQ(d, std::chrono::milliseconds(250));
  EXPECT_TRUE(parse_go_duration("1.5s", d));
  EXPECT_EQ(d, std::chrono::milliseconds(1500));
  EXPECT_TRUE(parse_go_duration("1h2m", d));
  EXPECT_EQ(d, std::chrono::minutes(62));
  EXPECT_TRUE(parse_go_duration("10us", d));
  EXPECT_EQ(d, std::chrono::microseconds(10));
  EXPECT_FALSE(parse_go_duration("10", d));
  EXPECT_FALSE(parse_go_duration("s", d));
  EXPECT_FALSE(parse_go_duration("5x", d));
}

TEST(Options, BadInputGetsAClearError) {
  EXPECT_NE(parse_fail({}).find("missing workload"), std::string::npos);
  EXPECT_NE(parse_fail({"frobnicate"}).find("unknown workload"), std::string::npos);
  EXPECT_NE(parse_fail({"put", "--nope=1"}).find("unknown flag: --nope"), std::string::npos);
  EXPECT_NE(parse_fail({"range", "k", "--val-size=3"}).find("not a range flag"), std::string::npos);
  EXPECT_NE(parse_fail({"put", "--total=abc"}).find("--total"), std::string::npos);
  EXPECT_NE(parse_fail({"put", "--total=-1"}).find("--total"), std::string::npos);
  EXPECT_NE(parse_fail({"put", "--total"}).find("needs an argument"), std::string::npos);
  EXPECT_NE(parse_fail({"--clients=0", "put"}).find("at least 1"), std::string::npos);
  EXPECT_NE(parse_fail({"--endpoints=nohost", "put"}).find("bad endpoint"), std::string::npos);
  EXPECT_NE(parse_fail({"--endpoints=h:99999", "put"}).find("bad endpoint"), std::string::npos);
  EXPECT_NE(parse_fail({"--cert=x.pem", "put"}).find("--cert and --key must be given together"), std::string::npos);
  EXPECT_NE(parse_fail({"--user=root", "put"}).find("expects name:password"), std::string::npos);
  EXPECT_NE(parse_fail({"--user=root:pw", "watch"}).find("not a watch flag"), std::string::npos);
  EXPECT_NE(parse_fail({"put", "--key-size=1", "--key-space-size=100000"}).find("too small"), std::string::npos);
  EXPECT_NE(parse_fail({"put", "extra"}).find("unexpected argument"), std::string::npos);
  EXPECT_NE(parse_fail({"--rate=10", "watch"}).find("not a watch flag"), std::string::npos);  // --put-rate
  EXPECT_NE(parse_fail({"watch-latency", "--duration=1s"}).find("not a watch-latency flag"), std::string::npos);
  EXPECT_NE(parse_fail({"--help"}).find("usage:"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::bench
