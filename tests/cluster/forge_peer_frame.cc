// tests/cluster/forge_peer_frame.cc - sends one forged raft message to a member's peer port, as an
// attacker who can reach that port would: a well-formed frame (net/peer/frame.h) in another member's
// name. Used by forged_peer_test.py against real ringkv processes.
//
//   forge_peer_frame PORT CLUSTER_ID FROM TO TYPE TERM [INDEX]
//     TYPE: heartbeat | append_response | vote
// Connects to 127.0.0.1:PORT, writes the frame, waits up to 2 s for the member to close the connection
// (or not), exits 0 once written, 2 on a usage or connect error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/peer/frame.h"
#include "raft/codec.h"

namespace {

using namespace ringkv;

bool parse_type(std::string_view name, raft::MessageType& type) {
  if (name == "heartbeat") type = raft::MessageType::kHeartbeat;
  else if (name == "append_response") type = raft::MessageType::kAppendResponse;
  else if (name == "vote") type = raft::MessageType::kVote;
  else return false;
  return true;
}

bool write_all(int fd, const std::byte* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= size_t(n);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s PORT CLUSTER_ID FROM TO TYPE TERM [INDEX]\n", argv[0]);
    return 2;
  }
  raft::Message message;
  if (!parse_type(argv[5], message.type)) {
    std::fprintf(stderr, "unknown message type %s\n", argv[5]);
    return 2;
  }
  const uint16_t port = uint16_t(std::strtoul(argv[1], nullptr, 10));
  const uint64_t cluster_id = std::strtoull(argv[2], nullptr, 10);
  message.from = std::strtoull(argv[3], nullptr, 10);
  message.to = std::strtoull(argv[4], nullptr, 10);
  message.term = std::strtoull(argv[6], nullptr, 10);
  if (argc > 7) message.index = std::strtoull(argv[7], nullptr, 10);

  net::peer::encoded_frame frame =
      net::peer::make_frame({cluster_id, message.from, message.to}, raft::encode_message(message));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::perror("connect");
    return 2;
  }
  const auto* body = reinterpret_cast<const std::byte*>(frame.message.data());
  if (!write_all(fd, frame.lead.data(), frame.lead.size()) || !write_all(fd, body, frame.message.size())) {
    std::perror("write");
    ::close(fd);
    return 2;
  }
  pollfd waiting{fd, POLLIN, 0};
  ::poll(&waiting, 1, 2000);  // let the member read it before the connection goes
  ::close(fd);
  return 0;
}
