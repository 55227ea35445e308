// client/session.h - the concurrency recipes' session (Go clientv3/concurrency.Session): a lease kept
// alive by a lease_keeper; the keys of a Mutex or Election hang on it, so they vanish when the process
// dies or the lease is lost. Also wait_deletes, the waiting step the recipes share.
#pragma once

#include <memory>
#include <string>

#include "client/client.h"
#include "client/lease.h"

namespace ringkv::client {

class session {
 public:
  static constexpr int64_t default_ttl_s = 60;  // as Go's concurrency.NewSession

  // Grants a lease of `ttl_s` and keeps it alive on `keeper`.
  static runtime::task<result<std::unique_ptr<session>>> open(client& c, lease_keeper& keeper,
                                                              int64_t ttl_s = default_ttl_s);
  int64_t lease() const { return lease_; }
  bool lost() const { return *lost_; }
  client& owner() { return client_; }

  // Stops the keepalive and revokes the lease (its keys are deleted).
  runtime::task<status> close();

 private:
  session(client& c, lease_keeper& keeper, int64_t lease)
      : client_(c), keeper_(keeper), lease_(lease), lost_(std::make_shared<bool>(false)) {}
  client& client_;
  lease_keeper& keeper_;
  int64_t lease_;
  std::shared_ptr<bool> lost_;  // set by the keeper's on_lost
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
