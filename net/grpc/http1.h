// HTTP/1.1 on the client port, next to gRPC: /health, /version, /metrics and etcd's JSON gateway
// (/v3/kv/range, ...). A request parser over a contiguous buffer (the connection accumulates bytes
// until a request is complete, within named limits) and response writers into an output buffer
// (whole responses, or chunked ones for streams).
// Supports Content-Length bodies and keep-alive; chunked request bodies are refused (501), as no
// etcd client sends them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringkv::net::http1 {

struct limits {
  size_t max_header_bytes = 64 * 1024;       // request line + headers
  size_t max_body_bytes = 2 * 1024 * 1024;   // like gRPC's receive limit (1.5 MiB + overhead)
  size_t max_headers = 100;
};

struct request {
  std::string_view method;   // "GET", "POST", ...
  std::string_view target;   // "/v3/kv/range?x=y"
  std::string_view path;     // target without the query
  std::string_view query;    // after '?', may be empty
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // names as sent
  std::string_view body;
  bool keep_alive = true;    // HTTP/1.1 default; "Connection: close" or HTTP/1.0 turn it off

  std::string_view header(std::string_view name) const;  // case-insensitive; empty if absent
};

enum class parse_status : uint8_t { incomplete, complete, error };

struct parse_result {
  parse_status state = parse_status::incomplete;
  size_t consumed_bytes = 0;  // when complete: the request's size in the buffer
  int error_http_status = 0;  // when error: 400, 413, 431, 501, 505
  std::string_view error;     // when error: why
  // When incomplete: the headers are in and asked for "Expect: 100-continue" (curl does for bodies
  // over 1 KiB): the server should answer "100 Continue" before the body comes.
  bool expects_continue = false;
};

inline constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

// Parses one request at the start of `buffer`. Views in `out` point into `buffer`.
parse_result parse_request(std::string_view buffer, const limits& limits, request& out);

struct response {
  int status = 200;
  std::string_view content_type = "application/json";
  std::string_view body;
  std::vector<std::pair<std::string_view, std::string_view>> extra_headers;
};

// Appends a complete HTTP/1.1 response to `out` (Content-Length framing).
void write_response(std::string& out, const response& response, bool keep_alive);

// A streamed response (chunked framing, the connection closes after it), for replies whose length is
// not known up front (the JSON gateway's watch, keep-alive and snapshot streams):
//   write_chunked_head  the status line and headers (response.body is not used),
//                       "Transfer-Encoding: chunked" and "Connection: close";
//   append_chunk        one chunk (nothing for empty bytes: an empty chunk would end the body);
//   append_last_chunk   the closing zero-length chunk.
void write_chunked_head(std::string& out, const response& head);
void append_chunk(std::string& out, std::string_view bytes);
void append_last_chunk(std::string& out);
std::string_view reason_phrase(int status);

}  // namespace ringkv::net::http1
