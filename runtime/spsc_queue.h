// runtime/spsc_queue.h - bounded single-producer/single-consumer ring of cross-shard messages.
//
// One queue per ordered (from, to) shard pair. The producer and consumer indices sit on their own cache
// lines and each side caches the other's index, so a push or pop touches shared memory only when the
// cached view says the ring is full or empty. Capacity is a power of two, fixed at construction.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <memory>

namespace ringkv::runtime::detail {

struct smp_message {
  void (*run)(void* context) = nullptr;  // executed on the receiving shard
  void* context = nullptr;
};

class spsc_queue {
 public:
  explicit spsc_queue(std::size_t capacity) : slots_(std::make_unique<smp_message[]>(capacity)), mask_(capacity - 1) {
    assert(capacity >= 2 && (capacity & (capacity - 1)) == 0);
  }

  bool try_push(const smp_message& message) noexcept {
    const std::size_t tail = producer_.tail.load(std::memory_order_relaxed);
    if (tail - producer_.head_cache > mask_) {
      producer_.head_cache = consumer_.head.load(std::memory_order_acquire);
      if (tail - producer_.head_cache > mask_) return false;
    }
    slots_[tail & mask_] = message;
    producer_.tail.store(tail + 1, std::memory_order_release);
    return true;
  }

  bool try_pop(smp_message& message) noexcept {
    const std::size_t head = consumer_.head.load(std::memory_order_relaxed);
    if (head == consumer_.tail_cache) {
      consumer_.tail_cache = producer_.tail.load(std::memory_order_acquire);
      if (head == consumer_.tail_cache) return false;
    }
    message = slots_[head & mask_];
    consumer_.head.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer side: true when nothing is waiting (reads the producer's index).
  bool empty() const noexcept {
    return consumer_.head.load(std::memory_order_relaxed) == producer_.tail.load(std::memory_order_acquire);
  }

  // Set by a producer that has messages waiting for room; the consumer wakes it after popping.
  std::atomic<bool> producer_waiting{false};

 private:
  struct alignas(64) producer_side {
    std::atomic<std::size_t> tail{0};
    std::size_t head_cache = 0;
  };
  struct alignas(64) consumer_side {
    std::atomic<std::size_t> head{0};
    std::size_t tail_cache = 0;
  };
  producer_side producer_;
  consumer_side consumer_;
  std::unique_ptr<smp_message[]> slots_;
  std::size_t mask_;
};

}  // namespace ringkv::runtime::detail
