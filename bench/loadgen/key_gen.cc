// etcd-benchmark-compatible key and value generation.
#include "bench/loadgen/key_gen.h"

#include <cassert>

namespace ringkv::bench {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

unsigned varint_key_bytes(uint64_t index) {
  uint64_t zigzag = index << 1;
  unsigned bytes = 1;
  while (zigzag >= 0x80) {
    zigzag >>= 7;
    ++bytes;
  }
  return bytes;
}

void make_etcd_key(std::string& key, uint32_t key_size, uint64_t index) {
  assert(varint_key_bytes(index) <= key_size);
  key.assign(key_size, '\0');
  uint64_t zigzag = index << 1;
  size_t i = 0;
  while (zigzag >= 0x80) {
    key[i++] = static_cast<char>((zigzag & 0x7f) | 0x80);
    zigzag >>= 7;
  }
  key[i] = static_cast<char>(zigzag);
}

key_picker::key_picker(uint64_t key_space_size, bool sequential, uint64_t seed)
    : key_space_size_(key_space_size), sequential_(sequential), state_(seed) {
  assert(key_space_size_ > 0);
}

uint64_t key_picker::pick(uint64_t request_index) {
  if (sequential_) return request_index % key_space_size_;
  return splitmix64(state_) % key_space_size_;
}

std::string random_bytes(uint32_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t state = seed;
  for (auto& c : out) c = static_cast<char>(splitmix64(state));
  return out;
}

}  // namespace ringkv::bench
