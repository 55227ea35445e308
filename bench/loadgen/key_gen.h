// Keys and values as etcd's benchmark tool makes them: key i is Go's binary.PutVarint(i) (zigzag
// varint) written into a zeroed key-size buffer, so both tools touch the same key space; values are
// random bytes made once per run.
#pragma once

#include <cstdint>
#include <string>

namespace ringkv::bench {

// Bytes Go's PutVarint needs for `index` (zigzag of a non-negative number: 2*index).
unsigned varint_key_bytes(uint64_t index);

// Writes key `index` into `key` (resized to key_size, zero padded). Requires varint_key_bytes(index)
// <= key_size (checked by options validation).
void make_etcd_key(std::string& key, uint32_t key_size, uint64_t index);

// Chooses the key index of each request: sequential (request % space) or uniform random.
class key_picker {
 public:
  key_picker(uint64_t key_space_size, bool sequential, uint64_t seed);
  uint64_t pick(uint64_t request_index);

 private:
  uint64_t key_space_size_;
  bool sequential_;
  uint64_t state_;  // splitmix64
};

std::string random_bytes(uint32_t size, uint64_t seed);

}  // namespace ringkv::bench
