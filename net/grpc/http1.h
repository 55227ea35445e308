// HTTP/1.1 on the client port, next to gRPC: /health, /version, /metrics and etcd's JSON gateway
// (/v3/kv/range, ...). A request parser over a contiguous buffer (the connection accumulates bytes
// until a request is complete, within named limits) and response writers into an output buffer
// (whole responses, or chunked ones for streams).
// Supports Content-Length and chunked request bodies (both within limits::max_body_bytes, decoded)
// and keep-alive. As Go's net/http (etcd's gateway): several Content-Length headers that disagree
// are a 400, a Transfer-Encoding other than one "chunked" is a 501, and chunked overrides
// Content-Length.
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
  size_t max_body_bytes = 2 * 1024 * 1024;   // decoded; the server sets it from --max-request-bytes
  size_t max_headers = 100;
  // A chunked body's bytes on the wire (sizes, extensions, trailers included): twice the body limit.
  size_t max_chunked_wire_bytes() const { return 2 * max_body_bytes + max_header_bytes; }
};

struct request {
  std::string_view method;   // "GET", "POST", ...
  std::string_view target;   // "/v3/kv/range?x=y"
  std::string_view path;     // target without the query
  std::string_view query;    // after '?', may be empty
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // names as sent
  std::string_view body;
  std::string chunked_body;  // a chunked body, decoded (body views it): do not copy a request
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
  bool headers_complete = false;  // when incomplete: the body is what is still missing
};

// The progress of one request arriving in pieces: parse_request is called again on the same grown
// buffer and picks up where it stopped (the search for the end of the headers, a chunked body's
// decoding), so a request trickling in costs time linear in its size. Reset it (= {}) before the
// next request.
struct parse_progress {
  enum class chunk_phase : uint8_t { size_line, data, data_end, trailers, done };
  size_t head_searched = 0;  // bytes already searched for the blank line ending the headers
  chunk_phase phase = chunk_phase::size_line;
  size_t wire_offset = 0;  // buffer offset up to which the chunked body is decoded (0: not started)
  size_t chunk_left = 0;   // data bytes still to come in the current chunk
  std::string body;        // the chunked body decoded so far (moved into the request once complete)
};

inline constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

// Parses one request at the start of `buffer`. Views in `out` point into `buffer` (a chunked body:
// into out.chunked_body).
parse_result parse_request(std::string_view buffer, const limits& limits, request& out, parse_progress& progress);
// The same from scratch (a request known to be whole, tests).
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
