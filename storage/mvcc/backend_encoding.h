// storage/mvcc/backend_encoding.h: etcd 3.4's backend encoding of one stored version, shared by HashKV
// (hash_kv.cc) and the etcd snapshot writer (storage/etcd_snapshot): the `key` bucket's 17-byte
// revision key (8-byte big-endian main, '_', 8-byte big-endian sub; 18 bytes with a trailing 't' for
// a tombstone), its value (mvccpb.KeyValue in protobuf; a tombstone carries only the key), and the
// crc32 (Castagnoli) etcd hashes them with.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringkv::storage::mvcc::backend {

inline constexpr size_t revision_key_bytes = 17;
inline constexpr char tombstone_mark = 't';

namespace detail {
constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
inline constexpr auto crc32c_table = make_crc32c_table();
}  // namespace detail

class Crc32c {
 public:
  void update(std::string_view bytes) {
    for (unsigned char b : bytes) crc_ = detail::crc32c_table[(crc_ ^ b) & 0xff] ^ (crc_ >> 8);
  }
  uint32_t sum() const { return ~crc_; }

 private:
  uint32_t crc_ = ~0u;
};

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// proto3 scalar fields: zero values are not written.
inline void put_bytes_field(std::string& out, int field, std::string_view bytes) {
  if (bytes.empty()) return;
  put_varint(out, static_cast<uint64_t>(field) << 3 | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

inline void put_int_field(std::string& out, int field, int64_t v) {
  if (v == 0) return;
  put_varint(out, static_cast<uint64_t>(field) << 3);
  put_varint(out, static_cast<uint64_t>(v));
}

inline void put_be64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

inline uint64_t load_be64(const char* at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<unsigned char>(at[i]);
  return v;
}

inline void put_revision_key(std::string& out, int64_t main, int64_t sub, bool tombstone) {
  put_be64(out, static_cast<uint64_t>(main));
  out.push_back('_');
  put_be64(out, static_cast<uint64_t>(sub));
  if (tombstone) out.push_back(tombstone_mark);
}

// mvccpb.KeyValue {key = 1, create_revision = 2, mod_revision = 3, version = 4, value = 5, lease = 6}.
inline void put_key_value(std::string& out, std::string_view key, int64_t create, int64_t mod, int64_t version,
                          std::string_view value, int64_t lease) {
  put_bytes_field(out, 1, key);
  put_int_field(out, 2, create);
  put_int_field(out, 3, mod);
  put_int_field(out, 4, version);
  put_bytes_field(out, 5, value);
  put_int_field(out, 6, lease);
}

}  // namespace ringkv::storage::mvcc::backend
