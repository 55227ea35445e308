// tests/mvcc/fixture_test.cc: replays the operations recorded from a real etcd 3.4
// (tests/mvcc/fixtures/*.txt, written by record_fixtures.py) against MvccStore and compares every
// field of every answer, errors included, by rendering our responses in the recorder's text format.
// Watches are drained two events per poll, so the bounded, resumable path is what gets compared.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {
namespace {

#ifndef MVCC_FIXTURE_DIR
#error "MVCC_FIXTURE_DIR must be defined by the build"
#endif

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && i + 2 <= s.size() - 1) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string escape(std::string_view s) {
  static const std::string safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-";
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (safe.find(static_cast<char>(c)) != std::string::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

struct Line {
  std::string op;
  std::map<std::string, std::string> args;
  int64_t num(const std::string& k) const { return args.contains(k) ? std::stoll(args.at(k)) : 0; }
  bool flag(const std::string& k) const { return num(k) != 0; }
  std::string bytes(const std::string& k) const { return args.contains(k) ? unescape(args.at(k)) : ""; }
};

Line parse_line(const std::string& text) {
  std::istringstream in(text);
  Line l;
  in >> l.op;
  std::string tok;
  while (in >> tok) {
    auto eq = tok.find('=');
    l.args[tok.substr(0, eq)] = eq == std::string::npos ? "" : tok.substr(eq + 1);
  }
  return l;
}

RangeRequest range_of(const Line& l) {
  RangeRequest r;
  r.key = l.bytes("key");
  r.range_end = l.bytes("range_end");
  r.limit = l.num("limit");
  r.revision = l.num("revision");
  r.sort_order = static_cast<SortOrder>(l.num("sort_order"));
  r.sort_target = static_cast<SortTarget>(l.num("sort_target"));
  r.keys_only = l.flag("keys_only");
  r.count_only = l.flag("count_only");
  r.min_mod_revision = l.num("min_mod_revision");
  r.max_mod_revision = l.num("max_mod_revision");
  r.min_create_revision = l.num("min_create_revision");
  r.max_create_revision = l.num("max_create_revision");
  return r;
}

PutRequest put_of(const Line& l) {
  return PutRequest{l.bytes("key"), l.bytes("value"), l.num("lease"), l.flag("prev_kv"), l.flag("ignore_value"),
                    l.flag("ignore_lease")};
}

DeleteRangeRequest delete_of(const Line& l) { return DeleteRangeRequest{l.bytes("key"), l.bytes("range_end"), l.flag("prev_kv")}; }

// Parses the body of a `> txn` block (the lines after it up to the matching `> end`).
TxnRequest txn_of(const std::vector<std::string>& lines, size_t& at) {
  TxnRequest t;
  std::vector<RequestOp>* ops = nullptr;
  while (at < lines.size()) {
    Line l = parse_line(lines[at++].substr(2));
    if (l.op == "end") return t;
    if (l.op == "success") { ops = &t.success; continue; }
    if (l.op == "failure") { ops = &t.failure; continue; }
    if (l.op == "cmp") {
      Compare c;
      c.target = static_cast<Compare::Target>(l.num("target"));
      c.result = static_cast<Compare::Result>(l.num("result"));
      c.key = l.bytes("key");
      c.range_end = l.bytes("range_end");
      std::string operand = l.bytes("operand");
      switch (c.target) {
        case Compare::Target::value: c.value = operand; break;
        case Compare::Target::version: c.version = std::stoll(operand); break;
        case Compare::Target::create: c.create_revision = std::stoll(operand); break;
        case Compare::Target::mod: c.mod_revision = std::stoll(operand); break;
        case Compare::Target::lease: c.lease = std::stoll(operand); break;
      }
      t.compare.push_back(c);
      continue;
    }
    EXPECT_NE(ops, nullptr);
    if (l.op == "txn") ops->push_back(RequestOp{txn_of(lines, at)});
    else if (l.op == "range") ops->push_back(RequestOp{range_of(l)});
    else if (l.op == "put") ops->push_back(RequestOp{put_of(l)});
    else if (l.op == "delete") ops->push_back(RequestOp{delete_of(l)});
    else ADD_FAILURE() << "unknown txn op " << l.op;
  }
  return t;
}

// ---- rendering, identical to record_fixtures.py ----
std::string render_kv(const std::string& tag, const KeyValue& kv) {
  return "< " + tag + " key=" + escape(kv.key) + " create=" + std::to_string(kv.create_revision) +
         " mod=" + std::to_string(kv.mod_revision) + " version=" + std::to_string(kv.version) +
         " value=" + escape(kv.value) + " lease=" + std::to_string(kv.lease);
}

void render(const RangeResponse& r, std::vector<std::string>& out) {
  out.push_back("< range header=" + std::to_string(r.header_revision) + " count=" + std::to_string(r.count) +
                " more=" + std::to_string(r.more ? 1 : 0));
  for (const auto& kv : r.kvs) out.push_back(render_kv("kv", kv));
}

void render(const PutResponse& r, std::vector<std::string>& out) {
  out.push_back("< put header=" + std::to_string(r.header_revision));
  if (r.prev_kv) out.push_back(render_kv("prev_kv", *r.prev_kv));
}

void render(const DeleteRangeResponse& r, std::vector<std::string>& out) {
  out.push_back("< delete header=" + std::to_string(r.header_revision) + " deleted=" + std::to_string(r.deleted));
  for (const auto& kv : r.prev_kvs) out.push_back(render_kv("prev_kv", kv));
}

void render(const TxnResponse& r, std::vector<std::string>& out) {
  out.push_back("< txn header=" + std::to_string(r.header_revision) + " succeeded=" + std::to_string(r.succeeded ? 1 : 0));
  for (const auto& resp : r.responses) std::visit([&](const auto& x) { render(x, out); }, resp.response);
  out.push_back("< end");
}

template <class T, class F>
void render_result(const Result<T>& res, std::vector<std::string>& out, F&& f) {
  if (!res.ok()) {
    out.push_back("< error " + std::string(error_message(res.error())));
  } else {
    f(res.value());
  }
}

std::vector<std::string> run_step(MvccStore& s, const std::vector<std::string>& lines, size_t& at) {
  Line l = parse_line(lines[at++].substr(2));
  std::vector<std::string> out;
  auto plain = [&](const auto& x) { render(x, out); };
  if (l.op == "range") {
    render_result(s.range(range_of(l)), out, plain);
  } else if (l.op == "put") {
    render_result(s.put(put_of(l)), out, plain);
  } else if (l.op == "delete") {
    render_result(s.delete_range(delete_of(l)), out, plain);
  } else if (l.op == "txn") {
    TxnRequest t = txn_of(lines, at);
    render_result(s.txn(t), out, plain);
  } else if (l.op == "compact") {
    render_result(s.compact(l.num("revision")), out, [&](const CompactionResponse& r) {
      out.push_back("< compact header=" + std::to_string(r.header_revision));
    });
    while (s.compaction_pending()) s.compaction_step();
  } else if (l.op == "lease_grant") {
    render_result(s.lease_grant(l.num("id"), l.num("ttl"), 0), out, [&](const LeaseGrantResponse& r) {
      out.push_back("< lease_grant header=" + std::to_string(r.header_revision) + " id=" + std::to_string(r.id) +
                    " ttl=" + std::to_string(r.ttl_s));
    });
  } else if (l.op == "lease_revoke") {
    render_result(s.lease_revoke(l.num("id")), out, [&](const LeaseRevokeResponse& r) {
      out.push_back("< lease_revoke header=" + std::to_string(r.header_revision));
    });
  } else if (l.op == "lease_keys") {
    auto r = s.lease_time_to_live(l.num("id"), 0, true);
    if (!r.ok()) {
      out.push_back("< lease_keys missing");
    } else {
      std::string keys;
      for (const auto& k : r->keys) keys += (keys.empty() ? "" : ",") + escape(k);
      out.push_back("< lease_keys granted_ttl=" + std::to_string(r->granted_ttl_s) + " keys=" + keys);
    }
  } else if (l.op == "watch") {
    WatchCreateRequest w;
    w.key = l.bytes("key");
    w.range_end = l.bytes("range_end");
    w.start_revision = l.num("start_revision");
    w.prev_kv = l.flag("prev_kv");
    w.filter_put = l.flag("filter_put");
    w.filter_delete = l.flag("filter_delete");
    watch_id_t id = s.watch_create(w);
    for (;;) {  // small polls, so the bounded, resumable path is what gets compared
      Result<WatchPollResult> r = s.watch_poll(id, 2);
      EXPECT_TRUE(r.ok());
      if (!r.ok()) break;
      if (r->compact_revision != 0) {
        out.push_back("< watch_compacted revision=" + std::to_string(r->compact_revision));
        break;
      }
      for (const auto& ev : r->events) {
        out.push_back(render_kv(ev.type == Event::Type::put ? "event_put" : "event_delete", ev.kv));
        if (ev.prev_kv) out.push_back(render_kv("prev_kv", *ev.prev_kv));
      }
      if (!r->more) {
        EXPECT_EQ(s.watch_cancel(id), Errc::ok);
        break;
      }
    }
  } else if (l.op == "hashkv") {
    render_result(s.hash_kv(l.num("revision")), out, [&](const HashKvResponse& r) {
      out.push_back("< hashkv header=" + std::to_string(r.header_revision) + " hash=" + std::to_string(r.hash) +
                    " compact=" + std::to_string(r.compact_revision));
    });
  } else {
    ADD_FAILURE() << "unknown op " << l.op;
  }
  return out;
}

void replay(const std::string& name) {
  std::ifstream in(std::string(MVCC_FIXTURE_DIR) + "/" + name + ".txt");
  ASSERT_TRUE(in) << "missing fixture " << name;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  MvccStore store;
  size_t at = 0, steps = 0;
  while (at < lines.size()) {
    ASSERT_EQ(lines[at].rfind("> ", 0), 0u) << name << ": expected a request at " << lines[at];
    std::string request = lines[at];
    std::vector<std::string> got = run_step(store, lines, at);
    std::vector<std::string> want;
    while (at < lines.size() && lines[at].rfind("< ", 0) == 0) want.push_back(lines[at++]);
    EXPECT_EQ(got, want) << name << " step " << steps << ": " << request;
    ++steps;
  }
  EXPECT_GT(steps, 5u);
}

TEST(MvccFixture, Basic) { replay("basic"); }
TEST(MvccFixture, RangeOptions) { replay("range_options"); }
TEST(MvccFixture, History) { replay("history"); }
TEST(MvccFixture, IgnoreValueLease) { replay("ignore"); }
TEST(MvccFixture, Txn) { replay("txn"); }
TEST(MvccFixture, Leases) { replay("leases"); }
TEST(MvccFixture, Watch) { replay("watch"); }

}  // namespace
}  // namespace ringkv::storage::mvcc
