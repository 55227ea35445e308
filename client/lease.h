// client/lease.h - leases: grant / revoke / time-to-live calls, and lease_keeper, which keeps many
// leases alive over one LeaseKeepAlive stream and reports the loss of a lease to its owner.
//
// Keepalive loop: every lease is refreshed when a third of its TTL has passed since its last refresh
// (as Go clientv3). A lease is lost when the server answers TTL <= 0 (expired or revoked), or when its
// TTL runs out with no refresh answered (the stream was down longer than the TTL). A broken stream is
// reopened on the next endpoint (client::stream_connection). Lost leases are forgotten and reported
// through lost() / on_lost; a lost lease never comes back.
#pragma once

#include <functional>
#include <map>

#include "client/client.h"
#include "etcd/rpc.pb.h"
#include "runtime/gate.h"
#include "runtime/notifier.h"

namespace ringkv::client {

runtime::task<result<etcdserverpb::LeaseGrantResponse>> lease_grant(client& c, int64_t ttl_s, int64_t id = 0,
                                                                    call_options call = {});
runtime::task<result<etcdserverpb::LeaseRevokeResponse>> lease_revoke(client& c, int64_t id, call_options call = {});
runtime::task<result<etcdserverpb::LeaseTimeToLiveResponse>> lease_time_to_live(client& c, int64_t id,
                                                                               bool with_keys = false,
                                                                               call_options call = {});

class lease_keeper {
 public:
  static constexpr size_t leases_limit = 10000;  // leases kept alive by one keeper

  explicit lease_keeper(client& c);
  ~lease_keeper();
  lease_keeper(const lease_keeper&) = delete;
  lease_keeper& operator=(const lease_keeper&) = delete;

  // Starts keeping `id` (granted with `ttl_s`) alive; on_lost (may be empty) runs once if it is lost.
  // False when leases_limit leases are kept already.
  bool keep(int64_t id, int64_t ttl_s, std::function<void(int64_t id)> on_lost = {});
  void forget(int64_t id);  // stops refreshing (does not revoke)
  bool kept(int64_t id) const { return leases_.count(id) != 0; }

  runtime::task<void> close();

 private:
  struct kept_lease {
    std::chrono::seconds ttl;
    runtime::clock::time_point refreshed;  // last refresh the server answered (or the grant)
    runtime::clock::time_point expires;    // refreshed + ttl: lost if no answer by then
    bool in_flight = false;
    std::function<void(int64_t)> on_lost;
  };
  runtime::task<void> pump();
  runtime::task<void> serve(grpc_stream& stream);
  void lose(int64_t id);
  void expire_overdue();

  client& client_;
  std::map<int64_t, kept_lease> leases_;
  bool closing_ = false;
  runtime::notifier wake_;
  runtime::gate pump_gate_;
  runtime::cancel_source pump_cancel_;
};

}  // namespace ringkv::client
