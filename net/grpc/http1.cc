// HTTP/1.1 request parsing and response writing for the client port.
#include "net/grpc/http1.h"

#include <algorithm>
#include <charconv>

namespace ringkv::net::http1 {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

parse_result fail(int http_status, std::string_view why) {
  return {parse_status::error, 0, http_status, why};
}

// "METHOD SP target SP HTTP/1.x"
parse_result parse_request_line(std::string_view line, request& out, bool& http10) {
  const size_t first = line.find(' ');
  const size_t second = line.rfind(' ');
  if (first == std::string_view::npos || second == first) return fail(400, "bad request line");
  out.method = line.substr(0, first);
  out.target = line.substr(first + 1, second - first - 1);
  const std::string_view version = line.substr(second + 1);
  if (!is_token(out.method) || out.target.empty() || out.target.front() != '/') {
    return fail(400, "bad request line");
  }
  if (version == "HTTP/1.0") {
    http10 = true;
  } else if (version != "HTTP/1.1") {
    return fail(505, "unsupported HTTP version");
  }
  const size_t question = out.target.find('?');
  out.path = out.target.substr(0, question);
  out.query = question == std::string_view::npos ? std::string_view() : out.target.substr(question + 1);
  return {};
}

}  // namespace

std::string_view request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

namespace {

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Decodes the chunked body that starts at `body_start` in `buffer`, from where `progress` stopped.
// Returns complete (consumed_bytes set), incomplete or an error.
parse_result decode_chunked(std::string_view buffer, size_t body_start, const limits& limits,
                            parse_progress& progress) {
  using phase = parse_progress::chunk_phase;
  constexpr size_t size_line_bytes_max = 4096;  // as Go's chunked reader
  if (progress.wire_offset < body_start) progress.wire_offset = body_start;
  size_t at = progress.wire_offset;
  parse_result result;
  while (progress.phase != phase::done) {
    if (at - body_start > limits.max_chunked_wire_bytes()) return fail(413, "request body too large");
    const std::string_view rest = buffer.substr(at);
    if (progress.phase == phase::data) {
      const size_t take = std::min(progress.chunk_left, rest.size());
      progress.body.append(rest.substr(0, take));
      at += take;
      progress.chunk_left -= take;
      if (progress.chunk_left > 0) break;
      progress.phase = phase::data_end;
      continue;
    }
    if (progress.phase == phase::data_end) {
      if (rest.size() < 2) break;
      if (rest.substr(0, 2) != "\r\n") return fail(400, "malformed chunked encoding");
      at += 2;
      progress.phase = phase::size_line;
      continue;
    }
    const size_t line_end = rest.find("\r\n");
    if (line_end == std::string_view::npos) {
      if (rest.size() > size_line_bytes_max) return fail(400, "malformed chunked encoding");
      break;
    }
    const std::string_view line = rest.substr(0, line_end);
    at += line_end + 2;
    if (progress.phase == phase::trailers) {
      if (line.empty()) progress.phase = phase::done;  // trailer fields themselves are ignored
      continue;
    }
    // size_line: hex digits, then optional whitespace and ";extension"s.
    size_t digits = 0;
    while (digits < line.size() && is_hex_digit(line[digits])) ++digits;
    const std::string_view after = trim(line.substr(digits));
    if (digits == 0 || digits > 16 || (!after.empty() && after.front() != ';')) {
      return fail(400, "malformed chunked encoding");
    }
    size_t chunk_bytes = 0;
    std::from_chars(line.data(), line.data() + digits, chunk_bytes, 16);
    if (chunk_bytes > limits.max_body_bytes - progress.body.size()) return fail(413, "request body too large");
    if (chunk_bytes == 0) {
      progress.phase = phase::trailers;
    } else {
      progress.chunk_left = chunk_bytes;
      progress.phase = phase::data;
    }
  }
  progress.wire_offset = at;
  if (progress.phase != phase::done) {
    result.headers_complete = true;
    return result;
  }
  result.state = parse_status::complete;
  result.consumed_bytes = at;
  return result;
}

}  // namespace

parse_result parse_request(std::string_view buffer, const limits& limits, request& out) {
  parse_progress progress;
  return parse_request(buffer, limits, out, progress);
}

parse_result parse_request(std::string_view buffer, const limits& limits, request& out, parse_progress& progress) {
  constexpr std::string_view head_terminator = "\r\n\r\n";
  const size_t search_from = progress.head_searched >= head_terminator.size() - 1
                                 ? progress.head_searched - (head_terminator.size() - 1)
                                 : 0;
  const size_t head_end = buffer.find(head_terminator, search_from);
  if (head_end == std::string_view::npos) {
    progress.head_searched = buffer.size();
    if (buffer.size() > limits.max_header_bytes) return fail(431, "request headers too large");
    return {};
  }
  progress.head_searched = head_end;
  if (head_end + 4 > limits.max_header_bytes) return fail(431, "request headers too large");
  std::string_view head = buffer.substr(0, head_end + 2);  // every line ends with CRLF
  out = request{};
  bool http10 = false;
  const size_t line_end = head.find("\r\n");
  if (auto result = parse_request_line(head.substr(0, line_end), out, http10);
      result.state == parse_status::error) {
    return result;
  }
  head.remove_prefix(line_end + 2);
  size_t content_length = 0;
  bool has_content_length = false;
  size_t transfer_encodings = 0;
  bool chunked = false;
  bool close = http10;
  bool expects_continue = false;
  while (!head.empty()) {
    const size_t end = head.find("\r\n");
    const std::string_view line = head.substr(0, end);
    head.remove_prefix(end + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      return fail(400, "bad header line");
    }
    if (out.headers.size() == limits.max_headers) return fail(431, "too many headers");
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    out.headers.emplace_back(name, value);
    if (iequals(name, "content-length")) {
      size_t length = 0;
      const auto [ptr, error] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (error != std::errc() || ptr != value.data() + value.size()) {
        return fail(400, "bad Content-Length");
      }
      if (has_content_length && length != content_length) {
        return fail(400, "message cannot contain multiple Content-Length headers");
      }
      has_content_length = true;
      content_length = length;
    } else if (iequals(name, "transfer-encoding")) {
      ++transfer_encodings;
      chunked = iequals(value, "chunked");
    } else if (iequals(name, "expect")) {
      expects_continue = iequals(value, "100-continue");
    } else if (iequals(name, "connection")) {
      if (iequals(value, "close")) close = true;
      if (iequals(value, "keep-alive")) close = false;
    }
  }
  if (transfer_encodings > 0 && !http10) {  // HTTP/1.0 has no Transfer-Encoding: ignored, as Go does
    if (transfer_encodings > 1) return fail(501, "too many transfer encodings");
    if (!chunked) return fail(501, "unsupported transfer encoding");
    // Transfer-Encoding overrides Content-Length (RFC 9112 6.3).
    out.keep_alive = !close;
    parse_result decoded = decode_chunked(buffer, head_end + 4, limits, progress);
    if (decoded.state == parse_status::complete) {
      out.chunked_body = std::move(progress.body);
      out.body = out.chunked_body;
    } else if (decoded.state == parse_status::incomplete) {
      decoded.expects_continue = expects_continue && progress.body.empty() && progress.wire_offset == head_end + 4;
    }
    return decoded;
  }
  if (content_length > limits.max_body_bytes) return fail(413, "request body too large");
  const size_t total = head_end + 4 + content_length;
  if (buffer.size() < total) {
    parse_result waiting;
    waiting.expects_continue = expects_continue && !http10;
    waiting.headers_complete = true;
    return waiting;
  }
  out.body = buffer.substr(head_end + 4, content_length);
  out.keep_alive = !close;
  return {parse_status::complete, total, 0, {}};
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

namespace {

void append_number(std::string& out, size_t value, int base = 10) {
  char number[24];
  const auto end = std::to_chars(number, number + sizeof(number), value, base).ptr;
  out.append(number, end);
}

// "HTTP/1.1 <status> <reason>\r\nContent-Type: <type>" (no line end).
void append_status_and_type(std::string& out, const response& response) {
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<size_t>(response.status));
  out.push_back(' ');
  out.append(reason_phrase(response.status));
  out.append("\r\nContent-Type: ");
  out.append(response.content_type);
}

void append_extra_headers(std::string& out, const response& response) {
  for (const auto& [name, value] : response.extra_headers) {
    out.append("\r\n").append(name).append(": ").append(value);
  }
}

}  // namespace

void write_response(std::string& out, const response& response, bool keep_alive) {
  append_status_and_type(out, response);
  out.append("\r\nContent-Length: ");
  append_number(out, response.body.size());
  append_extra_headers(out, response);
  out.append(keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  out.append(response.body);
}

void write_chunked_head(std::string& out, const response& head) {
  append_status_and_type(out, head);
  append_extra_headers(out, head);
  out.append("\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
}

void append_chunk(std::string& out, std::string_view bytes) {
  if (bytes.empty()) return;
  append_number(out, bytes.size(), 16);
  out.append("\r\n").append(bytes).append("\r\n");
}

void append_last_chunk(std::string& out) { out.append("0\r\n\r\n"); }

}  // namespace ringkv::net::http1
