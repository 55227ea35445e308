// server/api/range_stream.cc — see range_stream.h.
#include "server/api/range_stream.h"

#include <algorithm>
#include <cassert>

#include "etcd/rpc.pb.h"
#include "server/api/key_value_wire.h"

namespace ringkv::server {
namespace {

constexpr uint32_t kvs_field = 2;  // RangeResponse.kvs, length-delimited

// One RangeResponse.kvs entry: its size, and its bytes (key_value_wire.h); keys_only leaves the value out.
mvcc::KeyValueView sent_view(const mvcc::KeyValueView& view, bool keys_only) {
  mvcc::KeyValueView kv = view;
  if (keys_only) kv.value = {};
  return kv;
}
size_t kvs_entry_bytes(const mvcc::KeyValueView& kv) { return wire::field_bytes(wire::key_value_bytes(kv)); }
void put_kvs_entry(std::string& out, const mvcc::KeyValueView& kv) {
  wire::put_tag(out, kvs_field, wire::length_delimited);
  wire::put_varint(out, wire::key_value_bytes(kv));
  wire::put_key_value(out, kv);
}

bool streamable(const mvcc::RangeRequest& r) {
  bool key_order = r.sort_target == mvcc::SortTarget::key &&
                   (r.sort_order == mvcc::SortOrder::none || r.sort_order == mvcc::SortOrder::ascend);
  return !r.range_end.empty() && !r.count_only && key_order && r.min_mod_revision == 0 && r.max_mod_revision == 0 &&
         r.min_create_revision == 0 && r.max_create_revision == 0;
}

class range_stream final : public streamed_reply {
 public:
  range_stream(const mvcc::MvccStore& store, const mvcc::RangeRequest& r, mvcc::revision_t rev, std::string head,
               std::string tail, size_t kvs, size_t kvs_bytes)
      : store_(store), from_(r.key), range_end_(r.range_end), keys_only_(r.keys_only), rev_(rev),
        epoch_(store.state_epoch()), head_(std::move(head)), tail_(std::move(tail)), kvs_left_(kvs),
        total_(head_.size() + kvs_bytes + tail_.size()) {}

  size_t total_bytes() const override { return total_; }
  bool done() const override { return done_; }

  rpc_status next(std::string& out, size_t budget) override {
    assert(!done_);
    size_t start = out.size();
    if (!head_sent_) {
      out += head_;
      head_sent_ = true;
    }
    if (kvs_left_ > 0) {
      if (store_.state_epoch() != epoch_ || store_.compact_revision() > rev_) return etcd_errors::compacted();
      size_t visited = 0;
      store_.scan_range(from_, range_end_, rev_, [&](const mvcc::KeyValueView& view) {
        put_kvs_entry(out, sent_view(view, keys_only_));
        ++visited;
        from_.assign(view.key).push_back('\0');  // the next slice starts after this key
        return --kvs_left_ > 0 && out.size() - start < budget;
      });
      assert(kvs_left_ == 0 || out.size() - start >= budget);  // the first pass counted these keys
      if (visited == 0) return etcd_errors::compacted();       // never loops without progress
    }
    if (kvs_left_ == 0) {
      out += tail_;
      done_ = true;
      assert(sent_ + (out.size() - start) == total_);
    }
    sent_ += out.size() - start;
    return {};
  }

 private:
  const mvcc::MvccStore& store_;
  std::string from_;  // the next slice's first key
  std::string range_end_;
  bool keys_only_;
  mvcc::revision_t rev_;
  uint64_t epoch_;
  std::string head_;  // RangeResponse.header, serialized
  std::string tail_;  // RangeResponse.more and .count, serialized
  size_t kvs_left_;
  size_t total_;
  size_t sent_ = 0;
  bool head_sent_ = false;
  bool done_ = false;
};

}  // namespace

mvcc::Result<std::shared_ptr<streamed_reply>> plan_range_stream(const mvcc::MvccStore& store,
                                                                const mvcc::RangeRequest& r, const header_ids& ids) {
  if (!streamable(r)) return std::shared_ptr<streamed_reply>();
  mvcc::Result<mvcc::revision_t> rev = store.range_read_revision(r);
  if (!rev.ok()) return rev.error();
  size_t limit = r.limit > 0 ? size_t(r.limit) : SIZE_MAX;
  int64_t count = 0;
  size_t kvs_bytes = 0;
  store.scan_range(r.key, r.range_end, rev.value(), [&](const mvcc::KeyValueView& kv) {
    if (size_t(count) < limit) kvs_bytes += kvs_entry_bytes(sent_view(kv, r.keys_only));
    ++count;
    return true;
  });
  etcdserverpb::RangeResponse head, tail;
  fill_header(head.mutable_header(), ids, store.current_revision());
  size_t kvs = std::min(size_t(count), limit);
  tail.set_more(size_t(count) > limit);
  tail.set_count(count);
  if (head.ByteSizeLong() + kvs_bytes + tail.ByteSizeLong() < range_stream_min_bytes)
    return std::shared_ptr<streamed_reply>();
  return std::shared_ptr<streamed_reply>(std::make_shared<range_stream>(
      store, r, rev.value(), head.SerializeAsString(), tail.SerializeAsString(), kvs, kvs_bytes));
}

}  // namespace ringkv::server
