// gRPC status helpers: etcd-compatible error texts and grpc-message percent-encoding.
#include "net/grpc/grpc_status.h"

#include <array>
#include <charconv>

namespace ringkv::net::grpc {

status unknown_method_status(std::string_view path) {
  // path is "/package.Service/Method"; grpc-go names the service when it is unknown, else the method.
  std::string_view rest = path;
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return {status_code::unimplemented, "malformed method name: \"" + std::string(path) + "\""};
  }
  return {status_code::unimplemented, "unknown method " + std::string(rest.substr(slash + 1)) +
                                          " for service " + std::string(rest.substr(0, slash))};
}

status unknown_service_status(std::string_view service) {
  return {status_code::unimplemented, "unknown service " + std::string(service)};
}

status message_too_large_status(size_t message_bytes, size_t limit_bytes) {
  return {status_code::resource_exhausted, "grpc: received message larger than max (" +
                                               std::to_string(message_bytes) + " vs. " +
                                               std::to_string(limit_bytes) + ")"};
}

status malformed_request_status(std::string_view reason) {
  return {status_code::internal, "grpc: error unmarshalling request: " + std::string(reason)};
}

void percent_encode_append(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte <= 0x7e && byte != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[byte >> 4]);
      out.push_back(hex[byte & 0xf]);
    }
  }
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

status_code parse_status_code(std::string_view text) {
  int value = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0 ||
      value > status_code_max) {
    return status_code::unknown;
  }
  return static_cast<status_code>(value);
}

std::string_view status_code_text(status_code code) {
  static constexpr std::array<std::string_view, status_code_max + 1> texts = {
      "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"};
  return texts[static_cast<size_t>(code)];
}

const char* status_code_name(status_code code) {
  static constexpr std::array<const char*, status_code_max + 1> names = {
      "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
      "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
      "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"};
  const auto index = size_t(code);
  return index < names.size() ? names[index] : "Unknown";
}

}  // namespace ringkv::net::grpc
