// raft/read_only.h: ReadOnly, the leader's batched ReadIndex bookkeeping.
// read_index() requests collected during one loop turn form one round: the leader records its commit
// index, sends one heartbeat carrying the round id, and once a quorum of voters echoes that id (or a
// later one) every request of the round (and of earlier rounds) is answered with the recorded index.
// Requests that arrive before the leader has committed an entry of its own term wait for that commit
// (before it the leader's commit index may be behind the cluster's).
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "raft/types.h"

namespace ringkv::raft {

class ReadOnly {
 public:
  struct Request {
    NodeId requester;
    uint64_t context;
  };
  struct Round {
    uint64_t id;
    Index index;
    std::vector<Request> requests;
    std::vector<NodeId> acks;
  };

  size_t pending() const { return waiting_commit.size() + next_round.size() + in_rounds_; }
  // Turns next_round into a round read at `commit`; returns its id (0 if there was nothing to do).
  uint64_t start_round(Index commit) {
    if (next_round.empty()) return 0;
    Round round{++last_round_id_, commit, std::move(next_round), {}};
    next_round.clear();
    in_rounds_ += round.requests.size();
    rounds_.push_back(std::move(round));
    return last_round_id_;
  }
  Round* find(uint64_t id) {
    for (Round& round : rounds_) {
      if (round.id == id) return &round;
    }
    return nullptr;
  }
  // Removes every round up to and including `id`, calling answer(request, index) for each request.
  template <typename Answer>
  void complete_through(uint64_t id, Answer&& answer) {
    while (!rounds_.empty() && rounds_.front().id <= id) {
      Round& round = rounds_.front();
      for (const Request& request : round.requests) answer(request, round.index);
      in_rounds_ -= round.requests.size();
      rounds_.pop_front();
    }
  }
  void clear() {
    waiting_commit.clear();
    next_round.clear();
    rounds_.clear();
    in_rounds_ = 0;
  }

  std::vector<Request> waiting_commit;  // before the leader's first commit in its term
  std::vector<Request> next_round;      // to go out with the next heartbeat round

 private:
  std::deque<Round> rounds_;
  uint64_t last_round_id_ = 0;  // never reset: ids stay unique across terms
  size_t in_rounds_ = 0;
};

}  // namespace ringkv::raft
