// server/api/space_quota.cc — see space_quota.h.
#include "server/api/space_quota.h"

#include "runtime/log.h"
#include "runtime/spawn.h"

namespace ringkv::server {

namespace {

// The alarm is proposed in the background: the refused write does not wait for it.
runtime::task<void> propose_nospace_alarm(raft_driver& driver, std::string request) {
  co_await driver.propose(proposal_kind::alarm, std::move(request));
}

}  // namespace

rpc_status check_space(replica& member, int64_t cost) {
  const server_config& config = member.config();
  const mvcc::MvccStore& store = member.store();
  const bool alarmed = member.applier().nospace_alarm();
  if (!alarmed && store.quota_available(cost, config.effective_quota_bytes())) return {};
  if (!alarmed) {
    // Raise NOSPACE through raft, as etcd does, so it survives restarts.
    etcdserverpb::AlarmRequest alarm;
    alarm.set_action(etcdserverpb::AlarmRequest::ACTIVATE);
    alarm.set_memberid(member.identity().member_id);
    alarm.set_alarm(etcdserverpb::NOSPACE);
    log::warn("database space exceeded; raising NOSPACE alarm",
              {{"quota-bytes", config.effective_quota_bytes()}, {"size-bytes", store.size_bytes()}});
    runtime::spawn(propose_nospace_alarm(member.driver(), alarm.SerializeAsString()));
  }
  return etcd_errors::no_space();
}

}  // namespace ringkv::server
