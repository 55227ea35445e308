// storage/bbolt/format.h: the on-disk format of a bbolt database (go.etcd.io/bbolt 1.3, the store
// under etcd 3.4), as far as ringkv writes and reads it. Learned from Debian's
// golang-github-coreos-bbolt-dev sources (page.go, db.go, bucket.go, node.go, freelist.go).
//
// All integers are little-endian (bbolt writes native structs; etcd runs on little-endian hosts).
// A file is a sequence of pages of `page_size` bytes; page i starts at byte i * page_size.
//
//   page header (16 B)    u64 id | u16 flags | u16 count | u32 overflow
//                         id is the page's own number; `overflow` more pages follow it as one page.
//   meta (pages 0 and 1)  header, then u32 magic 0xED0CDAED | u32 version 2 | u32 page_size |
//                         u32 flags | bucket root (u64 root pgid, u64 sequence) | u64 freelist pgid |
//                         u64 pgid (high-water mark: pages in use) | u64 txid |
//                         u64 checksum = FNV-1a 64 of the meta bytes before it (56 bytes).
//                         A reader takes the valid meta with the higher txid.
//   freelist              header (count = number of free ids; 0xFFFF: the first u64 is the count),
//                         then count x u64 pgid.
//   leaf                  header, count x element (u32 flags | u32 pos | u32 ksize | u32 vsize),
//                         then the keys and values; pos is counted from the element's own start.
//                         flags & 1 (bucket_leaf_flag): the value is a nested bucket.
//   branch                header, count x element (u32 pos | u32 ksize | u64 child pgid), then keys;
//                         each key is the first key of its child page.
//   bucket value          u64 root pgid | u64 sequence; root 0 = inline bucket: a leaf page (header
//                         with id 0, elements, data) follows in the value itself.
// The meta's root bucket holds the top-level buckets (name -> bucket value, bucket_leaf_flag set).
#pragma once

#include <bit>
#include <iterator>
#include <cstdint>
#include <cstring>
#include <string>
#include <stdexcept>
#include <string_view>

namespace ringkv::storage::bbolt {

using pgid_t = uint64_t;

// Input that is not a valid bbolt file (or not the one expected): the message says what and where.
class format_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr uint32_t magic = 0xED0CDAED;
inline constexpr uint32_t format_version = 2;
inline constexpr uint32_t default_page_size = 4096;

// Sizes of the fixed structures in bytes: page header, leaf and branch elements, bucket header; the
// meta struct (checksum included) and the part of it the checksum covers.
inline constexpr size_t page_header_bytes = 16, leaf_element_bytes = 16, branch_element_bytes = 16;
inline constexpr size_t bucket_header_bytes = 16, meta_bytes = 64, meta_checksummed_bytes = 56;

// Page header flags, and the leaf element flag of a nested bucket.
inline constexpr uint16_t branch_page_flag = 0x01, leaf_page_flag = 0x02, meta_page_flag = 0x04;
inline constexpr uint16_t freelist_page_flag = 0x10;
inline constexpr uint32_t bucket_leaf_flag = 0x01;

inline constexpr uint16_t count_limit = 0xFFFF;   // a page holds fewer elements than this
inline constexpr pgid_t no_freelist = UINT64_MAX;  // meta.freelist when the freelist is not synced
inline constexpr size_t min_keys_per_page = 2;

// bbolt inlines a bucket whose single leaf (header + elements + data) is at most page_size / 4.
inline constexpr size_t max_inline_bucket_bytes(uint32_t page_size) { return page_size / 4; }

template <class T>
inline void store_le(char* at, T v) {
  static_assert(std::endian::native == std::endian::little);
  std::memcpy(at, &v, sizeof(T));
}
template <class T>
inline T load_le(const char* at) {
  T v;
  std::memcpy(&v, at, sizeof(T));
  return v;
}

inline uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

struct PageHeader {
  pgid_t id = 0;
  uint16_t flags = 0;
  uint16_t count = 0;
  uint32_t overflow = 0;
};

inline void write_page_header(char* at, const PageHeader& h) {
  store_le(at, h.id);
  store_le(at + 8, h.flags);
  store_le(at + 10, h.count);
  store_le(at + 12, h.overflow);
}
inline PageHeader read_page_header(const char* at) {
  return PageHeader{load_le<uint64_t>(at), load_le<uint16_t>(at + 8), load_le<uint16_t>(at + 10),
                    load_le<uint32_t>(at + 12)};
}

struct Meta {
  uint32_t page_size = default_page_size;
  uint32_t flags = 0;
  pgid_t root = 0;           // the root bucket's root page
  uint64_t root_sequence = 0;
  pgid_t freelist = 0;
  pgid_t pgid = 0;           // high-water mark: pages [0, pgid) are in the file
  uint64_t txid = 0;
};

// The 64 meta bytes (after the page header), checksum computed.
inline void write_meta(char* at, const Meta& m) {
  const uint32_t head[] = {magic, format_version, m.page_size, m.flags};
  const uint64_t tail[] = {m.root, m.root_sequence, m.freelist, m.pgid, m.txid};
  for (size_t i = 0; i < std::size(head); ++i) store_le(at + 4 * i, head[i]);
  for (size_t i = 0; i < std::size(tail); ++i) store_le(at + 16 + 8 * i, tail[i]);
  store_le(at + meta_checksummed_bytes, fnv1a64(std::string_view(at, meta_checksummed_bytes)));
}

}  // namespace ringkv::storage::bbolt
