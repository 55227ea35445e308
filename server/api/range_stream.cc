// server/api/range_stream.cc — see range_stream.h.
#include "server/api/range_stream.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cassert>

#include "etcd/rpc.pb.h"

namespace ringkv::server {
namespace {

using google::protobuf::io::CodedOutputStream;

constexpr char kvs_field_tag = 0x12;  // RangeResponse.kvs: field 2, length-delimited

size_t int_field_bytes(int64_t v) { return v == 0 ? 0 : 1 + CodedOutputStream::VarintSize64(uint64_t(v)); }
size_t bytes_field_bytes(size_t n) { return n == 0 ? 0 : 1 + CodedOutputStream::VarintSize64(n) + n; }

// mvccpb.KeyValue's serialized size (proto3: zero fields are left out).
size_t key_value_bytes(const mvcc::KeyValueView& kv, bool keys_only) {
  return bytes_field_bytes(kv.key.size()) + int_field_bytes(kv.create_revision) + int_field_bytes(kv.mod_revision) +
         int_field_bytes(kv.version) + bytes_field_bytes(keys_only ? 0 : kv.value.size()) + int_field_bytes(kv.lease);
}

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(v | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
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
        append_kv(out, view);
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
  void append_kv(std::string& out, const mvcc::KeyValueView& view) {
    mvcc::KeyValueView kv = view;
    if (keys_only_) kv.value = {};
    to_proto(kv, &message_);
    size_t bytes = message_.ByteSizeLong();
    assert(bytes == key_value_bytes(view, keys_only_));  // the size the first pass announced
    out.push_back(kvs_field_tag);
    append_varint(out, bytes);
    message_.AppendToString(&out);
  }

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
  mvccpb::KeyValue message_;  // reused for each key
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
    if (size_t(count) < limit) {
      size_t bytes = key_value_bytes(kv, r.keys_only);
      kvs_bytes += 1 + CodedOutputStream::VarintSize64(bytes) + bytes;
    }
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
