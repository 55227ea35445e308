// server/api/service_support.cc — see service_support.h.
#include "server/api/service_support.h"

namespace ringkv::server {
namespace {

// The kinds etcd 3.4 checks against the auth store when it applies them (authApplierV3).
bool checked_at_apply(proposal_kind kind) {
  switch (kind) {
    case proposal_kind::put:
    case proposal_kind::delete_range:
    case proposal_kind::txn:
    case proposal_kind::lease_revoke: return true;
    default: return uint8_t(kind) >= uint8_t(proposal_kind::auth_enable) && kind != proposal_kind::authenticate &&
                    kind != proposal_kind::as_user;
  }
}

}  // namespace

runtime::task<unary_outcome> propose_for(replica& member, const auth::caller& who, proposal_kind kind,
                                         std::string bytes) {
  if (who.user.empty() || !checked_at_apply(kind)) co_return co_await member.propose(kind, std::move(bytes));
  co_return co_await member.propose(proposal_kind::as_user, encode_as_user(who.user, who.auth_revision, kind, bytes));
}

}  // namespace ringkv::server
