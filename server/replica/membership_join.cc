// server/replica/membership_join.cc — identity file and the join query (see membership_join.h).
#include "server/replica/membership_join.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
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

bool send_all(int fd, std::string_view bytes, clock::time_point deadline) {
  while (!bytes.empty()) {
    if (!wait_ready(fd, POLLOUT, deadline)) return false;
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

bool recv_exact(int fd, char* out, size_t bytes, clock::time_point deadline) {
  while (bytes > 0) {
    if (!wait_ready(fd, POLLIN, deadline)) return false;
    ssize_t n = ::recv(fd, out, bytes, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    out += n;
    bytes -= size_t(n);
  }
  return true;
}

std::optional<members_answer> ask(int fd, clock::time_point deadline, std::string* error) {
  net::peer::encoded_frame query = net::peer::make_frame({}, raft::SharedBytes{});
  std::string_view lead(reinterpret_cast<const char*>(query.lead.data()), query.lead.size());
  if (!send_all(fd, lead, deadline)) {
    *error = "sending the members query failed";
    return std::nullopt;
  }
  std::array<std::byte, net::peer::frame_lead_bytes> head;
  if (!recv_exact(fd, reinterpret_cast<char*>(head.data()), head.size(), deadline)) {
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
  if (!recv_exact(fd, body.data(), body.size(), deadline)) {
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
  const auto deadline = clock::now() + join_deadline;
  std::string last_error = "no other member in --initial-cluster";
  std::string not_added;  // a member answered without our record
  while (true) {
    for (const auto& url : others) {
      std::string error;
      auto answer = query_members(url, join_query_timeout, &error);
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
                                            std::string* error) {
  auto where = peer_endpoint(peer_url);
  if (!where) {
    *error = "not an http://address:port URL";
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
    if (so_error != 0) *error = std::string("connect: ") + std::strerror(so_error);
    else answer = ask(fd, deadline, error);
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
