// server/bootstrap/blocking_http.cc — see blocking_http.h.
#include "server/bootstrap/blocking_http.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace ringkv::server {
namespace {

using clock = std::chrono::steady_clock;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = char(std::tolower(uint8_t(c)));
  return out;
}

// Closes the descriptor when it goes out of scope.
struct socket_fd {
  int fd = -1;
  ~socket_fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Milliseconds left until `deadline`, at least 0 (poll's timeout argument).
int ms_until(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return int(std::clamp<int64_t>(left, 0, 1 << 30));
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -errno on failure.
int wait_for(int fd, short events, clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, ms_until(deadline));
    if (rc > 0) return 1;
    if (rc == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

// A connected non-blocking socket to host:port (every address getaddrinfo gives, in its order).
int connect_to(const http_url& where, std::chrono::milliseconds timeout, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(where.port);
  if (int rc = ::getaddrinfo(where.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    *error = "cannot resolve " + where.host + ": " + ::gai_strerror(rc);
    return -1;
  }
  const auto deadline = clock::now() + timeout;
  std::string last = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
      rc = wait_for(fd, POLLOUT, deadline);
      int so_error = 0;
      socklen_t len = sizeof so_error;
      if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error == 0) {
        ::freeaddrinfo(found);
        return fd;
      }
      last = rc == 0 ? "connect timed out" : std::strerror(rc < 0 ? -rc : so_error);
    } else if (rc == 0) {
      ::freeaddrinfo(found);
      return fd;
    } else {
      last = std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  *error = "cannot connect to " + where.authority() + ": " + last;
  return -1;
}

std::string request_text(const http_request& request) {
  // Through a proxy the target is the absolute URL (RFC 9112 3.2.2), as Go's Transport sends it.
  std::string text = request.method + " " + (request.proxy ? request.url.text() : request.url.target) +
                     " HTTP/1.1\r\nHost: " + request.url.authority() +
                     "\r\nUser-Agent: ringkv-discovery\r\nAccept: application/json\r\nConnection: close\r\n";
  if (!request.body.empty() || request.method == "PUT" || request.method == "POST")
    text += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
            std::to_string(request.body.size()) + "\r\n";
  return text + "\r\n" + request.body;
}

// Removes the chunked transfer coding; false when the body is not well-formed chunks.
bool dechunk(std::string_view body, std::string& out) {
  for (;;) {
    const size_t line_end = body.find("\r\n");
    if (line_end == std::string_view::npos) return false;
    std::string_view size_text = body.substr(0, line_end);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions are ignored
    uint64_t size = 0;
    auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc{} || end != size_text.data() + size_text.size()) return false;
    body.remove_prefix(line_end + 2);
    if (size == 0) return true;  // trailers, if any, are not needed
    if (body.size() < size + 2 || body.substr(size, 2) != "\r\n") return false;
    out.append(body.substr(0, size));
    body.remove_prefix(size + 2);
  }
}

}  // namespace

std::string http_url::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string http_url::text() const { return "http://" + authority() + target; }

std::optional<http_url> parse_http_url(std::string_view text, std::string* error) {
  constexpr std::string_view scheme = "http://";
  auto fail = [&](const std::string& why) {
    *error = "URL '" + std::string(text) + "' " + why;
    return std::nullopt;
  };
  if (text.substr(0, scheme.size()) != scheme) {
    if (text.substr(0, 8) == "https://") return fail("uses https, which ringkv's discovery client does not speak");
    return fail("is not http://host[:port][/path]");
  }
  std::string_view rest = text.substr(scheme.size());
  const size_t target_start = std::min(rest.find('/'), rest.find('?'));
  std::string_view authority = rest.substr(0, target_start);
  http_url url;
  if (target_start != std::string_view::npos) {
    url.target = std::string(rest.substr(target_start));
    if (url.target[0] == '?') url.target = "/" + url.target;
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("has an unterminated IPv6 address");
    url.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return fail("has junk after its IPv6 address");
      port_text = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return fail("has no host");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return fail("has an invalid port");
    url.port = uint16_t(port);
  }
  return url;
}

std::optional<http_response> parse_http_response(std::string_view bytes, std::string* error) {
  const size_t head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    *error = "the answer ended before its headers did";
    return std::nullopt;
  }
  std::string_view head = bytes.substr(0, head_end);
  std::string_view body = bytes.substr(head_end + 4);
  const size_t status_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, status_end);
  http_response response;
  if (status_line.substr(0, 7) != "HTTP/1." || status_line.size() < 12 ||
      std::from_chars(status_line.data() + 9, status_line.data() + 12, response.status).ec != std::errc{}) {
    *error = "not an HTTP/1.x answer: '" + std::string(status_line.substr(0, 80)) + "'";
    return std::nullopt;
  }
  head = status_end == std::string_view::npos ? std::string_view{} : head.substr(status_end + 2);
  while (!head.empty()) {
    const size_t line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    head = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    response.headers[lower(line.substr(0, colon))] = std::string(value);
  }
  if (auto coding = response.headers.find("transfer-encoding");
      coding != response.headers.end() && lower(coding->second).find("chunked") != std::string::npos) {
    if (!dechunk(body, response.body)) {
      *error = "the answer's chunked body is cut short or malformed";
      return std::nullopt;
    }
  } else if (auto length = response.headers.find("content-length"); length != response.headers.end()) {
    size_t size = 0;
    const std::string& text = length->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), size);
    if (ec != std::errc{} || end != text.data() + text.size() || body.size() < size) {
      *error = "the answer's body is shorter than its Content-Length";
      return std::nullopt;
    }
    response.body = std::string(body.substr(0, size));
  } else {
    response.body = std::string(body);  // delimited by the end of the connection
  }
  return response;
}

http_outcome send_http_request(const http_request& request) {
  http_outcome outcome;
  const http_url& peer = request.proxy ? *request.proxy : request.url;
  socket_fd sock{connect_to(peer, request.connect_timeout, &outcome.error)};
  if (sock.fd < 0) return outcome;
  const auto deadline = clock::now() + request.response_timeout;
  const std::string out = request_text(request);
  for (size_t sent = 0; sent < out.size();) {
    ssize_t n = ::send(sock.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (int rc = wait_for(sock.fd, POLLOUT, deadline); rc == 1) continue;
      else outcome.timed_out = rc == 0;
      outcome.error = "sending to " + peer.authority() + " timed out";
      return outcome;
    }
    outcome.error = "sending to " + peer.authority() + " failed: " + std::strerror(errno);
    return outcome;
  }
  std::string in;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::recv(sock.fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      in.append(buffer, size_t(n));
      if (in.size() > http_response_bytes_max) {
        outcome.error = "the answer from " + peer.authority() + " is larger than " +
                        std::to_string(http_response_bytes_max) + " bytes";
        return outcome;
      }
      continue;
    }
    if (n == 0) break;  // the server closed: the whole answer is in
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int rc = wait_for(sock.fd, POLLIN, deadline);
      if (rc == 1) continue;
      outcome.timed_out = rc == 0;
      outcome.error = rc == 0 ? "no whole answer from " + peer.authority() + " within " +
                                    std::to_string(request.response_timeout.count()) + " ms"
                              : std::string("waiting for the answer failed: ") + std::strerror(-rc);
      return outcome;
    }
    outcome.error = "reading the answer from " + peer.authority() + " failed: " + std::strerror(errno);
    return outcome;
  }
  std::string error;
  outcome.response = parse_http_response(in, &error);
  if (!outcome.response) outcome.error = "bad answer from " + peer.authority() + ": " + error;
  return outcome;
}

std::string form_escape(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(char(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace ringkv::server
