// server/bootstrap/blocking_http.h — a small blocking HTTP/1.1 client for start-up, used by the discovery
// protocol (discovery_v2.h) before the runtime's reactors run: one request per connection
// ("Connection: close"), every step bounded (connect, then the whole response by one deadline), the
// response bounded in size. http, or https through OpenSSL on the same socket (the peer's certificate
// checked against the system's CAs - SSL_CERT_FILE / SSL_CERT_DIR as Go's client reads them - and its
// name or IP address). An HTTP proxy (--discovery-proxy) gets the absolute-form request target for http,
// as Go's http.Transport sends it, and a CONNECT tunnel for https. Names resolve through getaddrinfo.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv::server {

inline constexpr size_t http_response_bytes_max = size_t{4} << 20;  // a discovery answer is a few KiB

// http(s)://host[:port][/path][?query]
struct http_url {
  bool tls = false;  // https
  std::string host;  // a name, an IPv4 address, or an IPv6 address without its brackets
  uint16_t port = 80;  // 443 for https
  std::string target = "/";  // path and query, at least "/"
  std::string authority() const;  // "host:port" / "[v6]:port" (the Host header and the proxy's form)
  std::string text() const;       // "http(s)://" + authority() + target
};
// nullopt and *error (names the URL) when it is not http(s)://host[:port]...
std::optional<http_url> parse_http_url(std::string_view text, std::string* error);

struct http_request {
  std::string method = "GET";
  http_url url;
  std::string body;  // sent as application/x-www-form-urlencoded when not empty
  std::optional<http_url> proxy;
  std::chrono::milliseconds connect_timeout{30000};  // etcd's discovery client dials for 30 s
  std::chrono::milliseconds response_timeout{5000};  // from connected to the last byte of the answer
};

struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                             // chunked transfer coding already removed
};

struct http_outcome {
  std::optional<http_response> response;  // set when a whole answer arrived
  std::string error;                      // otherwise: what failed
  bool timed_out = false;                 // the failure was the response deadline
};

http_outcome send_http_request(const http_request& request);

// The answer's bytes (status line, headers, body) as they came off the connection. nullopt and *error
// when they are not one whole HTTP/1.x response. Exposed for tests.
std::optional<http_response> parse_http_response(std::string_view bytes, std::string* error);

// application/x-www-form-urlencoded / query escaping (Go's url.QueryEscape).
std::string form_escape(std::string_view text);

}  // namespace ringkv::server
