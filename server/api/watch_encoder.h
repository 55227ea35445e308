// server/api/watch_encoder.h — encodes a WatchResponse (etcd's rpc.proto) straight from MVCC event views
// into one reusable buffer: no protobuf message objects, no copies of keys and values besides the one
// into the buffer. The response header is encoded once per batch by the caller and spliced in. The
// bytes equal what protobuf's serializer produces for the same message (fields in number order, zero
// values left out; tests/server/watch_encoder_test.cc compares them).
// The wire pieces are server/api/key_value_wire.h's.
//
//   WatchResponse { ResponseHeader header = 1; int64 watch_id = 2; ... repeated mvccpb.Event events = 11; }
//   Event         { EventType type = 1 (PUT = 0, DELETE = 1); KeyValue kv = 2; KeyValue prev_kv = 3; }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/api/key_value_wire.h"
#include "storage/mvcc/types.h"

namespace ringkv::server {

class watch_response_encoder {
 public:
  // Starts a response: `header_bytes` is an encoded ResponseHeader.
  void begin(std::string_view header_bytes, int64_t watch_id) {
    out_.clear();
    events_ = 0;
    wire::put_tag(out_, 1, wire::length_delimited);  // a set header is encoded even when empty, as protobuf does
    wire::put_varint(out_, header_bytes.size());
    out_.append(header_bytes);
    wire::put_int_field(out_, 2, watch_id);
  }
  void add_event(const storage::mvcc::EventView& event) {
    size_t kv = wire::key_value_bytes(event.kv);
    size_t prev = event.prev_kv ? wire::key_value_bytes(*event.prev_kv) : 0;
    size_t body = (event.type == storage::mvcc::Event::Type::del ? 2 : 0) + wire::field_bytes(kv) +
                  (event.prev_kv ? wire::field_bytes(prev) : 0);
    wire::put_tag(out_, 11, wire::length_delimited);
    wire::put_varint(out_, body);
    if (event.type == storage::mvcc::Event::Type::del) wire::put_int_field(out_, 1, 1);
    wire::put_tag(out_, 2, wire::length_delimited);
    wire::put_varint(out_, kv);
    wire::put_key_value(out_, event.kv);
    if (event.prev_kv) {
      wire::put_tag(out_, 3, wire::length_delimited);
      wire::put_varint(out_, prev);
      wire::put_key_value(out_, *event.prev_kv);
    }
    ++events_;
  }
  size_t event_count() const { return events_; }
  std::string_view bytes() const { return out_; }

 private:
  std::string out_;  // keeps its capacity from one response to the next
  size_t events_ = 0;
};

}  // namespace ringkv::server
