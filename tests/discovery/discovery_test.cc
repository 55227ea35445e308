// tests/discovery/discovery_test.cc — the pure steps of server/bootstrap: HTTP answers as etcd's v2 keys
// API and the discovery service send them (chunked long polls), the v2 JSON, etcd's cluster-is-full
// rule, nodesToCluster's checks, the SRV records turned into members, and the SRV ids every member must
// agree on whatever it is named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "net/peer/cluster_id.h"
#include "server/bootstrap/blocking_http.h"
#include "server/bootstrap/discovery_srv.h"
#include "server/bootstrap/discovery_v2.h"
#include "server/bootstrap/initial_cluster.h"

namespace ringkv::server {
namespace {

TEST(BlockingHttp, ParsesUrls) {
  std::string error;
  auto url = parse_http_url("http://127.0.0.1:8087/0123abcd", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8087);
  EXPECT_EQ(url->target, "/0123abcd");
  url = parse_http_url("http://[::1]:2379/v2/keys/d?x=1", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->authority(), "[::1]:2379");
  EXPECT_EQ(url->target, "/v2/keys/d?x=1");
  url = parse_http_url("http://discovery.example", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->text(), "http://discovery.example:80/");
  url = parse_http_url("https://discovery.etcd.io/abc", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->text(), "https://discovery.etcd.io:443/abc");
  EXPECT_FALSE(parse_http_url("http://:80/", &error));
  EXPECT_FALSE(parse_http_url("http://h:99999/", &error));
  EXPECT_FALSE(parse_http_url("ftp://h/", &error));
}

TEST(BlockingHttp, ParsesContentLengthChunkedAndCloseDelimitedAnswers) {
  std::string error;
  auto plain = parse_http_response(
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nX-Etcd-Index: 7\r\nContent-Length: 5\r\n\r\nhello",
      &error);
  ASSERT_TRUE(plain) << error;
  EXPECT_EQ(plain->status, 404);
  EXPECT_EQ(plain->headers.at("x-etcd-index"), "7");
  EXPECT_EQ(plain->body, "hello");
  auto chunked = parse_http_response(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\na;ext=1\r\n:12345678}\r\n0\r\n\r\n", &error);
  ASSERT_TRUE(chunked) << error;
  EXPECT_EQ(chunked->body, "{\"a\":12345678}");
  auto closed = parse_http_response("HTTP/1.0 200 OK\r\n\r\nall of it", &error);
  ASSERT_TRUE(closed) << error;
  EXPECT_EQ(closed->body, "all of it");
  EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort", &error));
  EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", &error));
  EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nno end of headers", &error));
  EXPECT_FALSE(parse_http_response("SSH-2.0-OpenSSH\r\n\r\n", &error));
}

// A loopback listener on an ephemeral port; `serve` runs on the accepted connection in a thread.
struct one_shot_server {
  int listener = -1;
  uint16_t port = 0;
  std::thread thread;
  explicit one_shot_server(std::function<void(int)> serve) {
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener, 4), 0);
    socklen_t length = sizeof address;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    thread = std::thread([this, serve] {
      int connection = ::accept(listener, nullptr, nullptr);
      if (connection < 0) return;
      serve(connection);
      ::close(connection);
    });
  }
  ~one_shot_server() {
    thread.join();
    ::close(listener);
  }
};

http_request get_from(uint16_t port, std::chrono::milliseconds timeout) {
  http_request request;
  std::string error;
  request.url = *parse_http_url("http://127.0.0.1:" + std::to_string(port) + "/t?wait=true", &error);
  request.response_timeout = timeout;
  return request;
}

TEST(BlockingHttp, ReadsAChunkedAnswerUntilTheServerCloses) {
  std::string seen;
  one_shot_server server([&seen](int fd) {
    char buffer[4096];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) seen.assign(buffer, size_t(n));
    const std::string answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Etcd-Index: 12\r\n\r\n3\r\nabc\r\n";
    ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the rest comes later, as a long poll's event
    ::send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
  });
  http_outcome outcome = send_http_request(get_from(server.port, std::chrono::milliseconds(5000)));
  ASSERT_TRUE(outcome.response) << outcome.error;
  EXPECT_EQ(outcome.response->body, "abc");
  EXPECT_EQ(outcome.response->headers.at("x-etcd-index"), "12");
  EXPECT_EQ(seen.rfind("GET /t?wait=true HTTP/1.1\r\nHost: 127.0.0.1:", 0), 0u) << seen;
  EXPECT_NE(seen.find("Connection: close\r\n"), std::string::npos);
}

TEST(BlockingHttp, AServerThatNeverAnswersTimesOutAndAProxyGetsTheAbsoluteTarget) {
  std::string seen;
  one_shot_server silent([&seen](int fd) {
    char buffer[4096];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) seen.assign(buffer, size_t(n));
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
  });
  http_request request = get_from(4242, std::chrono::milliseconds(200));
  std::string error;
  request.proxy = parse_http_url("http://127.0.0.1:" + std::to_string(silent.port), &error);
  const auto started = std::chrono::steady_clock::now();
  http_outcome outcome = send_http_request(request);
  EXPECT_FALSE(outcome.response);
  EXPECT_TRUE(outcome.timed_out) << outcome.error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(550));
  EXPECT_EQ(seen.rfind("GET http://127.0.0.1:4242/t?wait=true HTTP/1.1\r\n", 0), 0u) << seen;
}

TEST(BlockingHttp, NothingListeningIsAnErrorNotATimeout) {
  int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(probe);  // the port was free a moment ago and nobody listens on it
  http_outcome outcome = send_http_request(get_from(ntohs(address.sin_port), std::chrono::milliseconds(1000)));
  EXPECT_FALSE(outcome.response);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_NE(outcome.error.find("cannot connect"), std::string::npos) << outcome.error;
}

TEST(BlockingHttp, FormEscapesAsGo) {
  EXPECT_EQ(form_escape("m1=http://127.0.0.1:2380,m1=http://[::1]:2380"),
            "m1%3Dhttp%3A%2F%2F127.0.0.1%3A2380%2Cm1%3Dhttp%3A%2F%2F%5B%3A%3A1%5D%3A2380");
  EXPECT_EQ(form_escape("a b~"), "a+b~");
}

// What etcd 3.4 --enable-v2 answers (captured shapes): the token's directory, an error, the size key.
TEST(DiscoveryV2, ParsesTheKeysApiAnswers) {
  auto dir = parse_v2_answer(R"({"action":"get","node":{"key":"/_etcd/registry/t","dir":true,"nodes":[
      {"key":"/_etcd/registry/t/_config","dir":true,"modifiedIndex":4,"createdIndex":4},
      {"key":"/_etcd/registry/t/b2","value":"m2=http://127.0.0.1:2","modifiedIndex":9,"createdIndex":9},
      {"key":"/_etcd/registry/t/a1","value":"m1=http://127.0.0.1:1","modifiedIndex":6,"createdIndex":6}],
      "modifiedIndex":4,"createdIndex":4}})");
  ASSERT_TRUE(dir);
  ASSERT_EQ(dir->nodes.size(), 2u);  // _config left out, sorted by creation
  EXPECT_EQ(dir->nodes[0].key, "/_etcd/registry/t/a1");
  EXPECT_EQ(dir->nodes[0].created_index, 6u);
  EXPECT_EQ(dir->nodes[1].value, "m2=http://127.0.0.1:2");
  auto missing = parse_v2_answer(R"({"errorCode":100,"message":"Key not found","cause":"/x","index":3})");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->error_code, 100);
  EXPECT_EQ(missing->message, "Key not found");
  auto size = parse_v2_answer(R"({"action":"get","node":{"key":"/t/_config/size","value":"3","modifiedIndex":4,"createdIndex":4}})");
  ASSERT_TRUE(size);
  EXPECT_EQ(size->value, "3");
  EXPECT_FALSE(parse_v2_answer("<html>not found</html>"));
  EXPECT_FALSE(parse_v2_answer(R"({"something":"else"})"));
  EXPECT_FALSE(parse_v2_answer(R"({"node":{"nodes":"not a list"}})"));
}

std::vector<discovery_node> registered(std::initializer_list<const char*> ids) {
  std::vector<discovery_node> nodes;
  uint64_t index = 10;
  for (const char* id : ids)
    nodes.push_back({std::string("/_etcd/registry/t/") + id, std::string("n") + id + "=http://10.0.0.1:" + id, index++});
  return nodes;
}

TEST(DiscoveryV2, ClusterIsFullOnlyForMembersPastTheFirstSize) {
  EXPECT_FALSE(cluster_is_full_without(registered({}), 3, "9"));
  EXPECT_FALSE(cluster_is_full_without(registered({"1", "2"}), 3, "9"));
  EXPECT_TRUE(cluster_is_full_without(registered({"1", "2", "3"}), 3, "9"));
  EXPECT_FALSE(cluster_is_full_without(registered({"1", "2", "3"}), 3, "3"));
  EXPECT_TRUE(cluster_is_full_without(registered({"1", "2", "3", "4"}), 3, "4"));  // registered too late
  EXPECT_TRUE(cluster_is_full_without(registered({"1"}), 1, "2"));
}

TEST(DiscoveryV2, NodesToClusterChecksNamesAndUrls) {
  auto ok = nodes_to_cluster(registered({"1", "2", "3", "4"}), 3);
  EXPECT_EQ(ok.error, discovery_error::none);
  EXPECT_EQ(ok.initial_cluster, "n1=http://10.0.0.1:1,n2=http://10.0.0.1:2,n3=http://10.0.0.1:3");
  auto two_urls = registered({"1", "2"});
  two_urls[0].value = "n1=http://10.0.0.1:1,n1=http://10.0.0.2:1";
  EXPECT_EQ(nodes_to_cluster(two_urls, 2).error, discovery_error::none);
  auto same_name = registered({"1", "2"});
  same_name[1].value = "n1=http://10.0.0.9:2";
  EXPECT_EQ(nodes_to_cluster(same_name, 2).error, discovery_error::duplicate_name);
  auto bad_url = registered({"1", "2"});
  bad_url[1].value = "n2=10.0.0.9:2";
  EXPECT_EQ(nodes_to_cluster(bad_url, 2).error, discovery_error::invalid_url);
  EXPECT_STREQ(discovery_error_text(discovery_error::full_cluster), "discovery: cluster is full");
}

server_config member(const std::string& name, const std::string& peer_url) {
  server_config config;
  config.name = name;
  url_endpoint url;
  url.url = peer_url;
  url.scheme = peer_url.substr(0, peer_url.find("://"));
  const std::string rest = peer_url.substr(peer_url.find("://") + 3);
  url.host = rest.substr(0, rest.rfind(':'));
  url.port = uint16_t(std::stoi(rest.substr(rest.rfind(':') + 1)));
  config.initial_advertise_peer_urls = {url};
  return config;
}

// A zone: infra<N>.example.test -> 127.0.0.<N>; IP literals resolve to themselves.
std::optional<std::string> zone(const std::string& host, uint16_t port) {
  if (host.rfind("infra", 0) == 0) return "127.0.0." + host.substr(5, 1) + ":" + std::to_string(port);
  if (host.rfind("127.", 0) == 0) return host + ":" + std::to_string(port);
  return std::nullopt;
}

const std::vector<srv_record> records = {{0, 0, 2380, "infra1.example.test"},
                                         {0, 0, 2380, "infra2.example.test"},
                                         {0, 0, 2380, "infra3.example.test"}};

TEST(DiscoverySrv, MatchesThisMemberByAddressAndNamesTheOthersByNumber) {
  server_config config = member("m2", "http://127.0.0.2:2380");
  srv_cluster cluster;
  unsigned next = 0;
  EXPECT_EQ(add_srv_members("http", records, config, zone, next, cluster), "");
  ASSERT_EQ(cluster.members.size(), 3u);
  EXPECT_EQ(cluster.members.at("m2"), std::vector<std::string>{"http://127.0.0.2:2380"});
  EXPECT_EQ(cluster.members.at("0"), std::vector<std::string>{"http://127.0.0.1:2380"});
  EXPECT_EQ(cluster.members.at("1"), std::vector<std::string>{"http://127.0.0.3:2380"});
}

TEST(DiscoverySrv, RefusesASchemeMismatchAndUnresolvableTargets) {
  server_config config = member("m1", "http://127.0.0.1:2380");
  srv_cluster cluster;
  unsigned next = 0;
  // The https service names this member: its record is refused, the others are https members.
  EXPECT_EQ(add_srv_members("https", records, config, zone, next, cluster), "");
  EXPECT_FALSE(cluster.members.count("m1"));
  srv_cluster none;
  EXPECT_NE(add_srv_members("http", {{0, 0, 2380, "nowhere.test"}}, config, zone, next, none).find("cannot resolve"),
            std::string::npos);
  EXPECT_TRUE(none.members.empty());
}

// The point of identity_from_peer_urls: members that see each other under different names ("0", "1",
// their own --name) compute the same member and cluster ids.
TEST(DiscoverySrv, EveryMemberComputesTheSameIds) {
  std::vector<member_identity> views;
  for (int n = 1; n <= 3; ++n) {
    server_config config = member("m" + std::to_string(n), "http://127.0.0." + std::to_string(n) + ":2380");
    config.initial_cluster_token = "tok";
    srv_cluster cluster;
    unsigned next = 0;
    ASSERT_EQ(add_srv_members("http", records, config, zone, next, cluster), "");
    config.initial_cluster = cluster.members;
    views.push_back(identity_from_peer_urls(config));
  }
  for (const auto& view : views) {
    EXPECT_EQ(view.cluster_id, views[0].cluster_id);
    ASSERT_EQ(view.members.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(view.members[i].id, views[0].members[i].id);
  }
  EXPECT_NE(views[0].member_id, views[1].member_id);
  EXPECT_EQ(views[1].member_id, net::peer::member_id("", {"http://127.0.0.2:2380"}));
  for (const auto& m : views[0].members) EXPECT_EQ(m.name.empty(), m.id != views[0].member_id);
}

// Discovery runs only for a data dir that holds no member yet (etcd: no WAL).
TEST(InitialCluster, DataDirHoldsAMemberOnceItHasAnIdentityFileOrAWalSegment) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ringkv-discovery-dir-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  EXPECT_FALSE(data_dir_holds_member(dir.string()));  // not even there
  fs::create_directories(dir / "member" / "wal");
  std::ofstream(dir / "member" / "wal" / "next.wal.tmp") << "x";
  EXPECT_FALSE(data_dir_holds_member(dir.string()));
  std::ofstream(dir / "member" / "wal" / "0000000000000000-0000000000000000.wal") << "x";
  EXPECT_TRUE(data_dir_holds_member(dir.string()));
  fs::remove_all(dir / "member" / "wal");
  std::ofstream(dir / "member" / "ringkv-identity") << "RKIDENT1";
  EXPECT_TRUE(data_dir_holds_member(dir.string()));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ringkv::server
