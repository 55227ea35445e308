// result<T>: a value, or the negative errno of why there is none. What net/tcp's fallible operations
// return (C++20 has no std::expected). error_text() turns the code into a readable message.
#pragma once

#include <cassert>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace ringkv::net {

// A failure: the negative errno value (e.g. -ECONNREFUSED, -ETIMEDOUT, -ECANCELED).
struct io_error {
  int negative_errno;
};

inline std::string error_text(int negative_errno) {
  return std::strerror(-negative_errno);
}

template <typename T>
class [[nodiscard]] result {
 public:
  result(T value) : outcome_(std::move(value)) {}  // NOLINT: implicit by design, like expected<T>
  result(io_error error) : outcome_(error) { assert(error.negative_errno < 0); }

  bool ok() const { return outcome_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    assert(ok() && "result has no value");
    return std::get<0>(outcome_);
  }
  T&& value() && {
    assert(ok() && "result has no value");
    return std::get<0>(std::move(outcome_));
  }
  // The negative errno of a failure; 0 when ok().
  int error() const { return ok() ? 0 : std::get<1>(outcome_).negative_errno; }
  std::string error_message() const { return ok() ? std::string() : error_text(error()); }

 private:
  std::variant<T, io_error> outcome_;
};

}  // namespace ringkv::net
