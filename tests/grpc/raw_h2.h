// tests/grpc/raw_h2.h - raw HTTP/2 frames for tests that play a client byte by byte against a
// grpc_server_session (abuse defences, limits, timers): frame builders, a request header block, and a
// parser for what the server wrote.
#pragma once

#include "net/grpc/grpc_server_session.h"
#include "net/grpc/protocol_detect.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::net::grpc {

// Raw HTTP/2 frame bytes.
inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload) {
  std::string out;
  const size_t length = payload.size();
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>((stream_id >> 24) & 0x7f));
  out.push_back(static_cast<char>(stream_id >> 16));
  out.push_back(static_cast<char>(stream_id >> 8));
  out.push_back(static_cast<char>(stream_id));
  out.append(payload);
  return out;
}

constexpr uint8_t kData = 0x0, kHeaders = 0x1, kRstStream = 0x3, kSettings = 0x4, kPing = 0x6, kGoaway = 0x7,
                  kContinuation = 0x9;
constexpr uint8_t kEndStream = 0x1, kEndHeaders = 0x4, kAck = 0x1;

inline std::string client_preface() {
  return std::string(http2_client_preface) + frame(kSettings, 0, 0, "");
}

// HPACK: :method POST (static 3), :scheme http (6), :path / (4).
inline const std::string kMinimalHeaderBlock = "\x83\x86\x84";

inline session_verdict feed_string(grpc_server_session& server, std::string_view bytes) {
  return server.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

struct raw_frame {
  uint8_t type;
  uint8_t flags;
  uint32_t stream_id;
  std::string payload;
};

inline std::vector<raw_frame> parse_frames(std::span<const uint8_t> bytes) {
  std::vector<raw_frame> frames;
  size_t at = 0;
  while (at + 9 <= bytes.size()) {
    const size_t length = (size_t{bytes[at]} << 16) | (size_t{bytes[at + 1]} << 8) | bytes[at + 2];
    const uint32_t id = (uint32_t{bytes[at + 5]} & 0x7f) << 24 | uint32_t{bytes[at + 6]} << 16 |
                        uint32_t{bytes[at + 7]} << 8 | bytes[at + 8];
    frames.push_back({bytes[at + 3], bytes[at + 4], id,
                      std::string(reinterpret_cast<const char*>(bytes.data()) + at + 9, length)});
    at += 9 + length;
  }
  return frames;
}

// HPACK block of a gRPC request for `path`, encoded by nghttp2's own deflater.
inline std::string request_block(std::string_view path) {
  nghttp2_hd_deflater* deflater = nullptr;
  nghttp2_hd_deflate_new(&deflater, 4096);
  const auto field = [](std::string_view name, std::string_view value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                      value.size(), NGHTTP2_NV_FLAG_NONE};
  };
  nghttp2_nv fields[] = {field(":method", "POST"), field(":scheme", "http"),
                         field(":authority", "127.0.0.1"), field(":path", path),
                         field("content-type", "application/grpc")};
  uint8_t buffer[512];
  const ssize_t length = nghttp2_hd_deflate_hd(deflater, buffer, sizeof(buffer), fields, 5);
  nghttp2_hd_deflate_del(deflater);
  EXPECT_GT(length, 0);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(length));
}

inline bool has_frame(std::span<const uint8_t> output, uint8_t type, uint32_t stream_id,
               std::string_view payload_prefix) {
  for (const auto& f : parse_frames(output)) {
    if (f.type == type && f.stream_id == stream_id &&
        std::string_view(f.payload).substr(0, payload_prefix.size()) == payload_prefix) {
      return true;
    }
  }
  return false;
}

// A gRPC message (5-byte prefix, uncompressed) carrying `body`.
inline std::string grpc_message(std::string_view body) {
  std::string out;
  append_message_prefix(out, body.size());
  out.append(body);
  return out;
}

}  // namespace ringkv::net::grpc
