// runtime/cancel.h - cancellation of in-flight operations.
//
// A cancel_source hands out one cancel_token; operations and timers started with that token register
// themselves on it while they are in flight. cancel() asks the kernel to cancel each registered I/O
// (IORING_OP_ASYNC_CANCEL) and removes each registered timer. A cancelled operation still resumes its
// coroutine exactly once, from its completion, with -ECANCELED (or with its real result when it finished
// first), so a frame is never resumed after it was destroyed and never destroyed while the kernel may
// still write into it. Operations started with an already-cancelled token complete at once with
// -ECANCELED without reaching the kernel. Tokens are shard-local: cancel() runs on the shard that
// started the operations.
#pragma once

namespace ringkv::runtime {

class cancel_token;

namespace detail {

// Intrusive link of one in-flight operation on a token.
struct cancellable {
  void (*on_cancel)(cancellable* self) = nullptr;  // asks the operation to end early
  cancellable* prev = nullptr;
  cancellable* next = nullptr;
  cancel_token* token = nullptr;  // non-null while linked
};

}  // namespace detail

class cancel_token {
 public:
  bool cancelled() const noexcept { return cancelled_; }

  // Runtime internals: link / unlink an operation while it is in flight.
  void attach(detail::cancellable* op) noexcept;
  void detach(detail::cancellable* op) noexcept;

 private:
  friend class cancel_source;
  cancel_token() = default;

  bool cancelled_ = false;
  detail::cancellable* head_ = nullptr;
};

class cancel_source {
 public:
  cancel_source() = default;
  cancel_source(const cancel_source&) = delete;
  cancel_source& operator=(const cancel_source&) = delete;
  ~cancel_source();  // unlinks what is still registered (those operations simply run to completion)

  cancel_token* token() noexcept { return &token_; }
  bool cancelled() const noexcept { return token_.cancelled_; }
  // Idempotent. Every registered operation ends early; later operations with the token end at once.
  void cancel() noexcept;

 private:
  cancel_token token_;
};

}  // namespace ringkv::runtime
