// runtime/cancel.cc - cancel_token bookkeeping (intrusive list of in-flight operations).
#include "runtime/cancel.h"

#include <cassert>

namespace ringkv::runtime {

void cancel_token::attach(detail::cancellable* op) noexcept {
  assert(op->token == nullptr && op->on_cancel != nullptr);
  op->token = this;
  op->prev = nullptr;
  op->next = head_;
  if (head_ != nullptr) head_->prev = op;
  head_ = op;
}

void cancel_token::detach(detail::cancellable* op) noexcept {
  assert(op->token == this);
  if (op->prev != nullptr) op->prev->next = op->next;
  else head_ = op->next;
  if (op->next != nullptr) op->next->prev = op->prev;
  op->prev = op->next = nullptr;
  op->token = nullptr;
}

cancel_source::~cancel_source() {
  while (token_.head_ != nullptr) token_.detach(token_.head_);
}

void cancel_source::cancel() noexcept {
  token_.cancelled_ = true;
  while (token_.head_ != nullptr) {
    detail::cancellable* op = token_.head_;
    token_.detach(op);
    op->on_cancel(op);
  }
}

}  // namespace ringkv::runtime
