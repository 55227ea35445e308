// server/replica/membership_join.cc — identity file and the join query (see membership_join.h).
#include "server/replica/membership_join.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "etcd/rpc.pb.h"
#include "net/peer/cluster_id.h"
#include "net/peer/frame.h"
#include "net/tls/tls_context.h"
#include "server/common/peer_tls.h"
#include "runtime/log.h"
#include "storage/wal/data_dir.h"

namespace ringkv::server {

namespace {

constexpr std::string_view identity_magic = storage::wal::identity_file_magic;  // recognized by data_dir.h
constexpr size_t members_answer_bytes_max = size_t{16} << 20;  // a member list, not a snapshot

std::string identity_path(const server_config& config) {
  return config.data_dir + "/member/" + identity_file_name;
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(char(uint8_t(v >> (8 * i))));
}
uint64_t get_u64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(in[size_t(i)])) << (8 * i);
  return v;
}

std::optional<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  }
  std::string out;
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    out.append(buffer, size_t(n));
  }
  ::close(fd);
  return out;
}

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int error = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot sync " + path + ": " + std::strerror(error));
  }
  ::close(fd);
}

// Temp file, fsync, rename, directory fsync: the file is either absent or complete.
void write_durably(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name, temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + temp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += size_t(n);
  }
  int error = done == bytes.size() && ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  if (error != 0 || ::rename(temp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(error ? error : errno));
  fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

// ---- blocking socket helpers with one deadline ----

using clock = std::chrono::steady_clock;

bool wait_ready(int fd, short events, clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, int(left));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

// One blocking stream to the member asked: the socket, or a TLS session on it (an https peer URL).
struct query_stream {
  int fd = -1;
  SSL* ssl = nullptr;
};

// For a TLS stream: waits for what OpenSSL asked for (`result` of an SSL call that returned <= 0).
// False when the call failed for good or the deadline passed.
bool wait_for_tls(const query_stream& s, int result, clock::time_point deadline) {
  const int error = SSL_get_error(s.ssl, result);
  if (error == SSL_ERROR_WANT_READ) return wait_ready(s.fd, POLLIN, deadline);
  if (error == SSL_ERROR_WANT_WRITE) return wait_ready(s.fd, POLLOUT, deadline);
  return false;
}

bool send_all(const query_stream& s, std::string_view bytes, clock::time_point deadline) {
  while (!bytes.empty()) {
    if (s.ssl != nullptr) {
      size_t written = 0;
      ERR_clear_error();  // SSL_get_error reads the thread's queue
      const int result = SSL_write_ex(s.ssl, bytes.data(), bytes.size(), &written);
      if (result == 1) bytes.remove_prefix(written);
      else if (!wait_for_tls(s, result, deadline)) return false;
      continue;
    }
    if (!wait_ready(s.fd, POLLOUT, deadline)) return false;
    ssize_t n = ::send(s.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

bool recv_exact(const query_stream& s, char* out, size_t bytes, clock::time_point deadline) {
  while (bytes > 0) {
    if (s.ssl != nullptr) {
      size_t read = 0;
      ERR_clear_error();
      const int result = SSL_read_ex(s.ssl, out, bytes, &read);
      if (result == 1) {
        out += read;
        bytes -= read;
      } else if (!wait_for_tls(s, result, deadline)) {
        return false;
      }
      continue;
    }
    if (!wait_ready(s.fd, POLLIN, deadline)) return false;
    ssize_t n = ::recv(s.fd, out, bytes, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    out += n;
    bytes -= size_t(n);
  }
  return true;
}

// The client handshake on the connected socket: "" or why it failed.
std::string tls_connect(query_stream& s, const net::tls::tls_context& context, const std::string& host,
                        clock::time_point deadline) {
  s.ssl = SSL_new(context.native());
  if (s.ssl == nullptr || SSL_set_fd(s.ssl, s.fd) != 1) return "cannot create a TLS session";
  if (context.verifies_server() && !net::tls::set_expected_host(s.ssl, host)) return "cannot verify host " + host;
  SSL_set_connect_state(s.ssl);
  while (true) {
    ERR_clear_error();
    const int result = SSL_connect(s.ssl);
    if (result == 1) return "";
    if (wait_for_tls(s, result, deadline)) continue;
    const long verdict = SSL_get_verify_result(s.ssl);
    if (verdict == X509_V_ERR_APPLICATION_VERIFICATION) return context.identity_refusal();
    if (verdict != X509_V_OK) return std::string("tls: failed to verify server certificate: ") + X509_verify_cert_error_string(verdict);
    const unsigned long code = ERR_peek_last_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    return std::string("tls: handshake failed") + (reason != nullptr ? std::string(": ") + reason : std::string());
  }
}

std::optional<members_answer> ask(const query_stream& stream, clock::time_point deadline, std::string* error) {
  net::peer::encoded_frame query = net::peer::make_frame({}, raft::SharedBytes{});
  std::string_view lead(reinterpret_cast<const char*>(query.lead.data()), query.lead.size());
  if (!send_all(stream, lead, deadline)) {
    *error = "sending the members query failed";
    return std::nullopt;
  }
  std::array<std::byte, net::peer::frame_lead_bytes> head;
  if (!recv_exact(stream, reinterpret_cast<char*>(head.data()), head.size(), deadline)) {
    *error = "no answer to the members query (not a ringkv member, or it does not know the cluster yet)";
    return std::nullopt;
  }
  auto prefix = net::peer::parse_prefix(std::span<const std::byte, net::peer::frame_prefix_bytes>(head.data(), 12));
  if (!net::peer::check_prefix(prefix).empty() ||
      prefix.body_bytes - net::peer::frame_header_bytes > members_answer_bytes_max) {
    *error = "bad members answer frame";
    return std::nullopt;
  }
  std::string body(prefix.body_bytes - net::peer::frame_header_bytes, '\0');
  if (!recv_exact(stream, body.data(), body.size(), deadline)) {
    *error = "members answer cut short";
    return std::nullopt;
  }
  auto header_bytes = std::span<const std::byte>(head.data() + net::peer::frame_prefix_bytes, net::peer::frame_header_bytes);
  auto message = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  if (net::peer::body_checksum(header_bytes, message) != prefix.body_checksum) {
    *error = "members answer checksum mismatch";
    return std::nullopt;
  }
  auto header = net::peer::parse_header(std::span<const std::byte, net::peer::frame_header_bytes>(header_bytes));
  return members_answer{header.cluster_id, header.from, std::move(body)};
}

// The members of a MemberListResponse, as identity members.
std::vector<cluster_member> members_of(const etcdserverpb::MemberListResponse& list) {
  std::vector<cluster_member> out;
  for (const auto& m : list.members())
    out.push_back({m.id(), m.name(), std::vector<std::string>(m.peerurls().begin(), m.peerurls().end())});
  std::sort(out.begin(), out.end(), [](const cluster_member& a, const cluster_member& b) { return a.id < b.id; });
  return out;
}

member_identity join_cluster(const server_config& config) {
  std::vector<std::string> own;
  for (const auto& url : config.initial_advertise_peer_urls) own.push_back(url.url);
  std::vector<std::string> others;
  for (const auto& [name, urls] : config.initial_cluster)
    if (name != config.name) others.insert(others.end(), urls.begin(), urls.end());
  std::optional<net::peer::peer_tls_setup> tls;  // the dialing side of peer TLS, for https peer URLs
  if (std::any_of(others.begin(), others.end(), [](const std::string& url) { return url.rfind("https://", 0) == 0; })) {
    std::string tls_error;
    tls = make_peer_tls(config, tls_error);
    if (!tls_error.empty()) throw std::runtime_error("cannot set up peer TLS: " + tls_error);
  }
  const net::tls::tls_context* dialing = tls ? tls->dialing.context.get() : nullptr;
  const auto deadline = clock::now() + join_deadline;
  std::string last_error = "no other member in --initial-cluster";
  std::string not_added;  // a member answered without our record
  while (true) {
    for (const auto& url : others) {
      std::string error;
      auto answer = query_members(url, join_query_timeout, &error, dialing);
      if (!answer) {
        last_error = url + ": " + error;
        continue;
      }
      etcdserverpb::MemberListResponse list;
      if (!list.ParseFromString(answer->member_list)) {
        last_error = url + ": the members answer does not decode";
        continue;
      }
      for (const auto& m : list.members()) {
        bool ours = std::any_of(m.peerurls().begin(), m.peerurls().end(),
                                [&](const std::string& u) { return std::find(own.begin(), own.end(), u) != own.end(); });
        if (!ours) continue;
        member_identity joined;
        joined.cluster_id = answer->cluster_id;
        joined.member_id = m.id();
        joined.members = members_of(list);
        log::info("joining the running cluster", {log::hex_id("cluster-id", joined.cluster_id), log::hex_id("member-id", joined.member_id),
                                                  {"asked", url}, {"members", uint64_t(list.members_size())}});
        return joined;
      }
      // Not (yet) there: the member asked may not have applied the MemberAdd; ask again until the deadline.
      not_added = "this member's --initial-advertise-peer-urls are not in the cluster's member list (asked " + url +
                  "): add it first with `etcdctl member add " + config.name + " --peer-urls=" +
                  (own.empty() ? std::string("<url>") : own.front()) + "`";
    }
    if (clock::now() >= deadline) {
      if (!not_added.empty()) throw std::runtime_error(not_added);
      throw std::runtime_error("cannot join the cluster: no member listed in --initial-cluster answered (last: " +
                               last_error + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace

std::optional<net::endpoint> peer_endpoint(std::string_view peer_url) {
  constexpr std::string_view localhost = "://localhost:";
  const size_t at = peer_url.find(localhost);
  if (at == std::string_view::npos) return net::peer::endpoint_of_peer_url(peer_url);
  std::string literal(peer_url.substr(0, at));
  literal += "://127.0.0.1:";
  literal += peer_url.substr(at + localhost.size());
  return net::peer::endpoint_of_peer_url(literal);
}

std::optional<members_answer> query_members(const std::string& peer_url, std::chrono::milliseconds timeout,
                                            std::string* error, const net::tls::tls_context* tls) {
  auto where = peer_endpoint(peer_url);
  if (!where) {
    *error = "not an http://address:port URL";
    return std::nullopt;
  }
  const std::string tls_host = net::peer::tls_host_of_peer_url(peer_url);
  if (!tls_host.empty() && tls == nullptr) {
    *error = "an https peer URL needs peer TLS (--peer-cert-file/--peer-key-file or --peer-auto-tls)";
    return std::nullopt;
  }
  int fd = ::socket(where->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  const auto deadline = clock::now() + timeout;
  std::optional<members_answer> answer;
  int rc = ::connect(fd, where->addr(), where->addr_len());
  if (rc != 0 && errno != EINPROGRESS) {
    *error = std::string("connect: ") + std::strerror(errno);
  } else if (rc != 0 && !wait_ready(fd, POLLOUT, deadline)) {
    *error = "connect timed out";
  } else {
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    query_stream stream{fd, nullptr};
    if (so_error != 0) {
      *error = std::string("connect: ") + std::strerror(so_error);
    } else if (std::string failed = tls_host.empty() ? "" : tls_connect(stream, *tls, tls_host, deadline); !failed.empty()) {
      *error = failed;
    } else {
      answer = ask(stream, deadline, error);
    }
    if (stream.ssl != nullptr) SSL_free(stream.ssl);
  }
  ::close(fd);
  return answer;
}

std::string encode_identity(const member_identity& identity) {
  etcdserverpb::MemberListResponse body;
  body.mutable_header()->set_cluster_id(identity.cluster_id);
  body.mutable_header()->set_member_id(identity.member_id);
  for (const auto& m : identity.members) {
    auto* out = body.add_members();
    out->set_id(m.id);
    out->set_name(m.name);
    for (const auto& url : m.peer_urls) out->add_peerurls(url);
  }
  std::string bytes = body.SerializeAsString();
  std::string out(identity_magic);
  put_u64(out, XXH3_64bits(bytes.data(), bytes.size()));
  return out + bytes;
}

std::optional<member_identity> decode_identity(std::string_view bytes) {
  if (bytes.size() < identity_magic.size() + 8 || bytes.substr(0, identity_magic.size()) != identity_magic)
    return std::nullopt;
  std::string_view body = bytes.substr(identity_magic.size() + 8);
  if (get_u64(bytes.substr(identity_magic.size())) != XXH3_64bits(body.data(), body.size())) return std::nullopt;
  etcdserverpb::MemberListResponse list;
  if (!list.ParseFromArray(body.data(), int(body.size())) || list.header().member_id() == 0) return std::nullopt;
  member_identity identity;
  identity.cluster_id = list.header().cluster_id();
  identity.member_id = list.header().member_id();
  identity.members = members_of(list);
  return identity;
}

void persist_identity(const server_config& config, const member_identity& identity) {
  write_durably(config.data_dir + "/member", identity_file_name, encode_identity(identity));
}

member_identity settle_identity(const server_config& config, member_identity derived, bool fresh) {
  const std::string path = identity_path(config);
  if (auto bytes = read_file(path)) {
    auto persisted = decode_identity(*bytes);
    if (!persisted) throw std::runtime_error(path + " is corrupt (move it aside only if you know this member's ids)");
    return *persisted;
  }
  member_identity settled = std::move(derived);
  const bool joining = fresh && config.initial_cluster_state == cluster_state::existing_cluster &&
                       config.initial_cluster.size() > 1;
  if (joining) settled = join_cluster(config);
  if (settled.multi_member() || joining) persist_identity(config, settled);
  return settled;
}

}  // namespace ringkv::server
