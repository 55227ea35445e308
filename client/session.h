// client/session.h - the concurrency recipes' session (Go clientv3/concurrency.Session): a lease kept
// alive by a lease_keeper; the keys of a Mutex or Election hang on it, so they vanish when the process
// dies or the lease is lost. Also wait_deletes, the waiting step the recipes share.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/lease.h"
#include "runtime/condition.h"

namespace ringkv::client {

class session {
 public:
  static constexpr int64_t default_ttl_s = 60;  // as Go's concurrency.NewSession

  // Grants a lease of `ttl_s` and keeps it alive on `keeper`.
  static runtime::task<result<std::unique_ptr<session>>> open(client& c, lease_keeper& keeper,
                                                              int64_t ttl_s = default_ttl_s);
  static constexpr size_t loss_callbacks_limit = 64;  // on_lost callbacks one session holds

  int64_t lease() const { return lease_; }
  // The lease is gone: the server answered a keepalive with TTL <= 0 (expired, or revoked by anyone),
  // or its TTL ran out with no keepalive answered. Every key on it (a Mutex's, an Election's) is gone.
  bool lost() const { return loss_->lost; }
  // Waits until lost() or `deadline`; true when lost.
  runtime::task<bool> wait_lost(runtime::clock::time_point deadline);
  // Runs `callback` once when the session is lost (at once when it already is); false past
  // loss_callbacks_limit. A closed session never runs them.
  bool on_lost(std::function<void()> callback);
  client& owner() { return client_; }

  // Stops the keepalive and revokes the lease (its keys are deleted).
  runtime::task<status> close();

 private:
  // Shared with the keeper's on_lost, which may run after the session object is gone.
  struct loss_state {
    bool lost = false;
    std::vector<std::function<void()>> callbacks;
    runtime::condition changed;
    void lose();
  };
  session(client& c, lease_keeper& keeper, int64_t lease)
      : client_(c), keeper_(keeper), lease_(lease), loss_(std::make_shared<loss_state>()) {}
  client& client_;
  lease_keeper& keeper_;
  int64_t lease_;
  std::shared_ptr<loss_state> loss_;
};

// Go's waitDeletes: waits until no key under `prefix` has a create revision <= max_create_revision,
// watching the newest such key for its deletion each time. Ends early at `deadline`.
runtime::task<status> wait_deletes(client& c, const std::string& prefix, int64_t max_create_revision,
                                   runtime::clock::time_point deadline);

// The recipes' waiting deadline: now + timeout, or a year from now for "no timeout" (zero) - never
// time_point::max(), which overflows the subtraction that computes the time left.
runtime::clock::time_point wait_deadline(std::chrono::nanoseconds timeout);

// "<prefix><lease in lower-case hex>", the recipes' key of a session (Go: fmt.Sprintf("%s%x", pfx, lease)).
std::string session_key(const std::string& prefix, int64_t lease);

}  // namespace ringkv::client
