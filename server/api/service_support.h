// server/api/service_support.h — small pieces every etcd service uses: the response header as this
// member sees it now, a reply stamped with it, and propose_as, the unary method that proposes its
// request unchanged and answers with the apply result.
#pragma once

#include <string>

#include "server/api/request_pipeline.h"
#include "server/common/unary_helpers.h"
#include "server/replica/kv_convert.h"
#include "server/replica/replica.h"

namespace ringkv::server {

// Fills `response`'s header: this member's ids and the store's current revision.
template <typename Response>
void stamp_header(const replica& member, Response& response) {
  fill_header(response.mutable_header(), member.applier().ids(), member.store().current_revision());
}

// `response` with the current header, serialized.
template <typename Response>
unary_outcome stamped_reply(const replica& member, Response& response) {
  stamp_header(member, response);
  return unary::reply(response);
}

// Proposes `bytes` under `kind` for the caller: a request etcd checks at apply (KV writes, LeaseRevoke,
// the Auth changes) made by an authenticated caller goes as an as_user entry, so the applier checks it
// again against the auth store at its place in the log; anything else goes as it is.
runtime::task<unary_outcome> propose_for(replica& member, const auth::caller& who, proposal_kind kind,
                                         std::string bytes);

// A unary method that proposes the request bytes as they came (once they parse) under `kind` for the
// caller and answers with what applying them returned: Maintenance.Alarm, Lease.LeaseRevoke.
template <typename Request>
struct propose_as {
  replica& member;
  proposal_kind kind;
  runtime::task<unary_outcome> operator()(const Request& /*parsed*/, std::string bytes, auth::caller who) const {
    return propose_for(member, who, kind, std::move(bytes));
  }
};

}  // namespace ringkv::server
