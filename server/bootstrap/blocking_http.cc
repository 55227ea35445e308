// server/bootstrap/blocking_http.cc — see blocking_http.h.
#include "server/bootstrap/blocking_http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
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

// An OpenSSL client session on a connected socket; freed with it.
struct tls_session {
  SSL_CTX* context = nullptr;
  SSL* ssl = nullptr;
  ~tls_session() {
    if (ssl) SSL_free(ssl);
    if (context) SSL_CTX_free(context);
  }
};

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "connection closed";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

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

// wait_for's result as the I/O helpers report it: true when ready; otherwise *timed_out and *error are set.
bool ready_or_report(int ready, bool* timed_out, std::string* error) {
  if (ready == 1) return true;
  *timed_out = ready == 0;
  *error = ready == 0 ? "timed out" : std::string("waiting failed: ") + std::strerror(-ready);
  return false;
}

// One TLS call's outcome on the non-blocking socket: 1 done, 0 retry after waiting, -1 failed (*error).
int tls_step(SSL* ssl, int rc, int fd, clock::time_point deadline, bool* timed_out, std::string* error) {
  if (rc > 0) return 1;
  const int reason = SSL_get_error(ssl, rc);
  if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
    const int ready = wait_for(fd, reason == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
    return ready_or_report(ready, timed_out, error) ? 0 : -1;
  }
  *error = openssl_error();
  return -1;
}

// TLS over the connected socket, the peer checked as Go's client checks it (system CAs, name or IP).
bool start_tls(int fd, const http_url& url, clock::time_point deadline, tls_session& tls, bool* timed_out,
               std::string* error) {
  tls.context = SSL_CTX_new(TLS_client_method());
  if (!tls.context) {
    *error = "TLS: " + openssl_error();
    return false;
  }
  SSL_CTX_set_min_proto_version(tls.context, TLS1_2_VERSION);
  SSL_CTX_set_default_verify_paths(tls.context);  // honours SSL_CERT_FILE / SSL_CERT_DIR
  SSL_CTX_set_verify(tls.context, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_options(tls.context, SSL_OP_IGNORE_UNEXPECTED_EOF);  // a close without close_notify ends the body
  tls.ssl = SSL_new(tls.context);
  if (!tls.ssl || SSL_set_fd(tls.ssl, fd) != 1) {
    *error = "TLS: " + openssl_error();
    return false;
  }
  unsigned char address[sizeof(in6_addr)];
  const bool literal = ::inet_pton(AF_INET, url.host.c_str(), address) == 1 ||
                       ::inet_pton(AF_INET6, url.host.c_str(), address) == 1;
  if (literal) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls.ssl), url.host.c_str());
  } else {
    SSL_set_tlsext_host_name(tls.ssl, url.host.c_str());
    SSL_set1_host(tls.ssl, url.host.c_str());
  }
  for (;;) {
    std::string problem;
    const int step = tls_step(tls.ssl, SSL_connect(tls.ssl), fd, deadline, timed_out, &problem);
    if (step == 1) return true;
    if (step == 0) continue;
    const long verified = SSL_get_verify_result(tls.ssl);
    if (verified != X509_V_OK) problem = std::string("certificate: ") + X509_verify_cert_error_string(verified);
    *error = "TLS handshake with " + url.authority() + " failed: " + problem;
    return false;
  }
}

// Sends all of `data` (through TLS when `ssl`); false and *error on failure or at the deadline.
bool send_all(int fd, SSL* ssl, std::string_view data, clock::time_point deadline, bool* timed_out,
              std::string* error) {
  for (size_t sent = 0; sent < data.size();) {
    if (ssl) {
      size_t written = 0;
      const int rc = SSL_write_ex(ssl, data.data() + sent, data.size() - sent, &written);
      const int step = tls_step(ssl, rc, fd, deadline, timed_out, error);
      if (step < 0) return false;
      sent += step == 1 ? written : 0;
      continue;
    }
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (ready_or_report(wait_for(fd, POLLOUT, deadline), timed_out, error)) continue;
      return false;
    }
    *error = std::strerror(errno);
    return false;
  }
  return true;
}

// Reads until the peer closes (or, with `until_head`, until the end of the header block), at most
// http_response_bytes_max bytes. false and *error on failure or at the deadline.
bool receive(int fd, SSL* ssl, clock::time_point deadline, bool until_head, std::string& in, bool* timed_out,
             std::string* error) {
  char buffer[16384];
  for (;;) {
    if (until_head && in.find("\r\n\r\n") != std::string::npos) return true;
    if (in.size() > http_response_bytes_max) {
      *error = "the answer is larger than " + std::to_string(http_response_bytes_max) + " bytes";
      return false;
    }
    const size_t want = until_head ? 1 : sizeof buffer;  // a tunnel's answer: not a byte of TLS after it
    if (ssl) {
      size_t got = 0;
      const int rc = SSL_read_ex(ssl, buffer, want, &got);
      if (rc <= 0 && SSL_get_error(ssl, rc) == SSL_ERROR_ZERO_RETURN) return true;
      const int step = tls_step(ssl, rc, fd, deadline, timed_out, error);
      if (step < 0) {
        if (error->empty() || *error == "connection closed") return true;  // closed without close_notify
        return false;
      }
      in.append(buffer, step == 1 ? got : 0);
      continue;
    }
    ssize_t n = ::recv(fd, buffer, want, 0);
    if (n > 0) {
      in.append(buffer, size_t(n));
      continue;
    }
    if (n == 0) return true;  // the server closed: the whole answer is in
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (ready_or_report(wait_for(fd, POLLIN, deadline), timed_out, error)) continue;
      return false;
    }
    *error = std::strerror(errno);
    return false;
  }
}

std::string request_text(const http_request& request) {
  // Through a proxy the http target is the absolute URL (RFC 9112 3.2.2), as Go's Transport sends it.
  const bool absolute = request.proxy && !request.url.tls;
  std::string text = request.method + " " + (absolute ? request.url.text() : request.url.target) +
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

std::string http_url::text() const { return (tls ? "https://" : "http://") + authority() + target; }

std::optional<http_url> parse_http_url(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& why) {
    *error = "URL '" + std::string(text) + "' " + why;
    return std::nullopt;
  };
  http_url url;
  std::string_view rest;
  if (text.substr(0, 7) == "http://") {
    rest = text.substr(7);
  } else if (text.substr(0, 8) == "https://") {
    rest = text.substr(8);
    url.tls = true;
    url.port = 443;
  } else {
    return fail("is not http(s)://host[:port][/path]");
  }
  const size_t target_start = std::min(rest.find('/'), rest.find('?'));
  std::string_view authority = rest.substr(0, target_start);
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
  std::string problem;
  auto failed = [&](const std::string& step) {
    outcome.error = step + " " + peer.authority() + (outcome.timed_out ? " timed out" : " failed: " + problem);
    return outcome;
  };
  if (request.url.tls && request.proxy) {  // a tunnel through the proxy, then TLS inside it
    const std::string connect = "CONNECT " + request.url.authority() + " HTTP/1.1\r\nHost: " +
                                request.url.authority() + "\r\n\r\n";
    std::string answer;
    if (!send_all(sock.fd, nullptr, connect, deadline, &outcome.timed_out, &problem)) return failed("CONNECT through");
    if (!receive(sock.fd, nullptr, deadline, true, answer, &outcome.timed_out, &problem)) return failed("CONNECT through");
    if (answer.size() < 12 || answer.compare(0, 7, "HTTP/1.") != 0 || answer.compare(9, 3, "200") != 0) {
      outcome.error = "the proxy " + peer.authority() + " refused CONNECT " + request.url.authority() + ": " +
                      answer.substr(0, answer.find("\r\n"));
      return outcome;
    }
  }
  tls_session tls;
  if (request.url.tls && !start_tls(sock.fd, request.url, deadline, tls, &outcome.timed_out, &outcome.error))
    return outcome;
  if (!send_all(sock.fd, tls.ssl, request_text(request), deadline, &outcome.timed_out, &problem))
    return failed("sending to");
  std::string in;
  if (!receive(sock.fd, tls.ssl, deadline, false, in, &outcome.timed_out, &problem)) return failed("reading from");
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
