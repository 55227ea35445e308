// server/api/watch_encoder.h — encodes a WatchResponse (etcd's rpc.proto) straight from MVCC event views
// into one reusable buffer: no protobuf message objects, no copies of keys and values besides the one
// into the buffer. The response header is encoded once per batch by the caller and spliced in. The
// bytes equal what protobuf's serializer produces for the same message (fields in number order, zero
// values left out; tests/server/watch_encoder_test.cc compares them).
//
//   WatchResponse { ResponseHeader header = 1; int64 watch_id = 2; ... repeated mvccpb.Event events = 11; }
//   Event         { EventType type = 1 (PUT = 0, DELETE = 1); KeyValue kv = 2; KeyValue prev_kv = 3; }
//   KeyValue      { bytes key = 1; int64 create_revision = 2; int64 mod_revision = 3; int64 version = 4;
//                   bytes value = 5; int64 lease = 6; }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/mvcc/types.h"

namespace ringkv::server {

class watch_response_encoder {
 public:
  // Starts a response: `header_bytes` is an encoded ResponseHeader.
  void begin(std::string_view header_bytes, int64_t watch_id) {
    out_.clear();
    events_ = 0;
    put_tag(1, length_delimited);  // a set header is encoded even when empty, as protobuf does
    put_varint(header_bytes.size());
    out_.append(header_bytes);
    put_int_field(2, watch_id);
  }
  void add_event(const storage::mvcc::EventView& event) {
    size_t kv = kv_bytes(event.kv);
    size_t prev = event.prev_kv ? kv_bytes(*event.prev_kv) : 0;
    size_t body = (event.type == storage::mvcc::Event::Type::del ? 2 : 0) + field_bytes(kv) +
                  (event.prev_kv ? field_bytes(prev) : 0);
    put_tag(11, length_delimited);
    put_varint(body);
    if (event.type == storage::mvcc::Event::Type::del) put_int_field(1, 1);
    put_tag(2, length_delimited);
    put_varint(kv);
    put_kv(event.kv);
    if (event.prev_kv) {
      put_tag(3, length_delimited);
      put_varint(prev);
      put_kv(*event.prev_kv);
    }
    ++events_;
  }
  size_t event_count() const { return events_; }
  std::string_view bytes() const { return out_; }

 private:
  static constexpr uint32_t varint_type = 0;
  static constexpr uint32_t length_delimited = 2;

  static size_t varint_bytes(uint64_t value) {
    size_t n = 1;
    while (value >= 0x80) {
      value >>= 7;
      ++n;
    }
    return n;
  }
  // A length-delimited field of `length` bytes with a one-byte tag (field numbers < 16).
  static size_t field_bytes(size_t length) { return 1 + varint_bytes(length) + length; }
  static size_t int_field_bytes(int64_t value) { return value == 0 ? 0 : 1 + varint_bytes(uint64_t(value)); }
  static size_t kv_bytes(const storage::mvcc::KeyValueView& kv) {
    return (kv.key.empty() ? 0 : field_bytes(kv.key.size())) + int_field_bytes(kv.create_revision) +
           int_field_bytes(kv.mod_revision) + int_field_bytes(kv.version) +
           (kv.value.empty() ? 0 : field_bytes(kv.value.size())) + int_field_bytes(kv.lease);
  }

  void put_varint(uint64_t value) {
    while (value >= 0x80) {
      out_.push_back(char(uint8_t(value) | 0x80));
      value >>= 7;
    }
    out_.push_back(char(value));
  }
  void put_tag(uint32_t field, uint32_t wire_type) { put_varint((field << 3) | wire_type); }
  void put_int_field(uint32_t field, int64_t value) {  // proto3 int64/enum: left out when zero
    if (value == 0) return;
    put_tag(field, varint_type);
    put_varint(uint64_t(value));
  }
  void put_bytes_field(uint32_t field, std::string_view bytes) {  // proto3 bytes: left out when empty
    if (bytes.empty()) return;
    put_tag(field, length_delimited);
    put_varint(bytes.size());
    out_.append(bytes);
  }
  void put_kv(const storage::mvcc::KeyValueView& kv) {
    put_bytes_field(1, kv.key);
    put_int_field(2, kv.create_revision);
    put_int_field(3, kv.mod_revision);
    put_int_field(4, kv.version);
    put_bytes_field(5, kv.value);
    put_int_field(6, kv.lease);
  }

  std::string out_;  // keeps its capacity from one response to the next
  size_t events_ = 0;
};

}  // namespace ringkv::server
