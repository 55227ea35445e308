// server/api/key_value_wire.h — protobuf's wire format for what the etcd services encode by hand straight
// from MVCC views, without building protobuf objects: the sizes of varints, proto3 scalar fields (zero
// values left out) and mvccpb.KeyValue, and its bytes through storage's writers (backend_encoding.h).
// The bytes equal protobuf's serializer's. Used by the watch encoder (events) and the streamed Range.
//
//   KeyValue { bytes key = 1; int64 create_revision = 2; int64 mod_revision = 3; int64 version = 4;
//              bytes value = 5; int64 lease = 6; }
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/mvcc/backend_encoding.h"
#include "storage/mvcc/types.h"

namespace ringkv::server::wire {

inline constexpr uint32_t varint_type = 0;
inline constexpr uint32_t length_delimited = 2;

inline size_t varint_bytes(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}
// A length-delimited field of `length` bytes with a one-byte tag (field numbers < 16).
inline size_t field_bytes(size_t length) { return 1 + varint_bytes(length) + length; }
inline size_t int_field_bytes(int64_t value) { return value == 0 ? 0 : 1 + varint_bytes(uint64_t(value)); }
inline size_t key_value_bytes(const storage::mvcc::KeyValueView& kv) {
  return (kv.key.empty() ? 0 : field_bytes(kv.key.size())) + int_field_bytes(kv.create_revision) +
         int_field_bytes(kv.mod_revision) + int_field_bytes(kv.version) +
         (kv.value.empty() ? 0 : field_bytes(kv.value.size())) + int_field_bytes(kv.lease);
}

// The writers are storage's (backend_encoding.h: etcd's `key` bucket holds the same KeyValue bytes).
using storage::mvcc::backend::put_int_field;
using storage::mvcc::backend::put_varint;
inline void put_tag(std::string& out, uint32_t field, uint32_t wire_type) { put_varint(out, (field << 3) | wire_type); }
// The KeyValue message's body (key_value_bytes(kv) bytes).
inline void put_key_value(std::string& out, const storage::mvcc::KeyValueView& kv) {
  storage::mvcc::backend::put_key_value(out, kv.key, kv.create_revision, kv.mod_revision, kv.version, kv.value,
                                        kv.lease);
}

}  // namespace ringkv::server::wire
