// libFuzzer target: net/grpc/http1's request parser as the connection driver uses it. The first input
// byte sets the read size; the rest is one connection's bytes, appended a read at a time and parsed
// through one parse_progress after each read (requests taken off the front as they complete). Each
// result must equal a parse of the same buffer from scratch, bodies included, and no body may pass
// its limit.
#include "net/grpc/http1.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace ringkv::net::http1;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t read_bytes = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  limits small;
  small.max_header_bytes = 2048;
  small.max_body_bytes = 4096;
  small.max_headers = 16;
  std::string buffer;
  request incremental;
  parse_progress progress;
  size_t at = 0;
  while (true) {
    const parse_result result = parse_request(buffer, small, incremental, progress);
    request scratch;
    const parse_result whole = parse_request(buffer, small, scratch);
    check(result.state == whole.state);
    if (result.state == parse_status::error) {
      check(result.error_http_status == whole.error_http_status);
      break;
    }
    if (result.state == parse_status::complete) {
      check(result.consumed_bytes == whole.consumed_bytes && result.consumed_bytes <= buffer.size());
      check(incremental.body == scratch.body && incremental.body.size() <= small.max_body_bytes);
      check(incremental.path == scratch.path && incremental.keep_alive == scratch.keep_alive);
      buffer.erase(0, result.consumed_bytes);
      progress = {};
      continue;
    }
    if (at == input.size()) break;
    const size_t take = input.size() - at < read_bytes ? input.size() - at : read_bytes;
    buffer.append(input.substr(at, take));
    at += take;
  }
  return 0;
}
