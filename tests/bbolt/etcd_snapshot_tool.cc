// tests/bbolt/etcd_snapshot_tool.cc: the test driver tests/compat/etcd_snapshot_test.py runs against
// real etcd 3.4.
//   etcd_snapshot_tool make FILE [KEYS]   runs tests/bbolt/workload.h on a store, writes it as an etcd
//                                         snapshot to FILE (streamed, a page at a time), prints the
//                                         store as JSON (below)
//   etcd_snapshot_tool dump FILE          loads an etcd snapshot into a store, prints it as JSON
// JSON: {"revision", "compact_revision", "hash_kv", "kvs": [{key, value (base64), create_revision,
// mod_revision, version, lease}], "leases": [{id, ttl, remaining_ttl}], "members": [{id, name}],
// "status": {hash, revision, total_keys, total_size}}. Errors go to stderr with exit status 1.
#include <cstdio>
#include <iostream>
#include <string>

#include "storage/etcd_snapshot/reader.h"
#include "storage/etcd_snapshot/writer.h"
#include "tests/bbolt/workload.h"

namespace {

using namespace ringkv::storage;

std::string base64(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(t[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

void print_state(const mvcc::MvccStore& s, const etcd_snapshot::ClusterState& cluster,
                 const etcd_snapshot::SnapshotStatus& st) {
  std::string out = "{\"revision\":" + std::to_string(s.current_revision()) +
                    ",\"compact_revision\":" + std::to_string(s.compact_revision()) +
                    ",\"hash_kv\":" + std::to_string(s.hash_kv(0).value().hash) + ",\"kvs\":[";
  mvcc::RangeRequest r;
  r.key = std::string(1, '\0');
  r.range_end = std::string(1, '\0');
  bool first = true;
  auto range = s.range(r);
  for (const auto& kv : range.value().kvs) {
    out += first ? "" : ",";
    first = false;
    out += "{\"key\":\"" + base64(kv.key) + "\",\"value\":\"" + base64(kv.value) +
           "\",\"create_revision\":" + std::to_string(kv.create_revision) +
           ",\"mod_revision\":" + std::to_string(kv.mod_revision) + ",\"version\":" + std::to_string(kv.version) +
           ",\"lease\":" + std::to_string(kv.lease) + "}";
  }
  out += "],\"leases\":[";
  first = true;
  for (const auto& l : s.lease_records()) {
    out += first ? "" : ",";
    first = false;
    out += "{\"id\":" + std::to_string(l.id) + ",\"ttl\":" + std::to_string(l.ttl_s) +
           ",\"remaining_ttl\":" + std::to_string(l.remaining_ttl_s) + "}";
  }
  out += "],\"members\":[";
  first = true;
  for (const auto& m : cluster.members) {
    out += first ? "" : ",";
    first = false;
    out += "{\"id\":" + std::to_string(m.id) + ",\"name\":\"" + m.name + "\"}";
  }
  out += "],\"status\":{\"hash\":" + std::to_string(st.hash) + ",\"revision\":" + std::to_string(st.revision) +
         ",\"total_keys\":" + std::to_string(st.total_keys) + ",\"total_size\":" + std::to_string(st.total_size) + "}}";
  std::cout << out << "\n";
}

int make(const std::string& path, size_t keys) {
  mvcc::MvccStore s;
  ringkv::tests::run_workload(s, keys);
  etcd_snapshot::ClusterState cluster;
  cluster.members = {{0x8e9e05c52164694d, "ringkv-1", {"http://127.0.0.1:2380"}, {"http://127.0.0.1:2379"}, false}};
  cluster.consistent_index = 7;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot create " + path);
  etcd_snapshot::SnapshotWriter w(s, cluster, [&](std::string_view b) {
    if (std::fwrite(b.data(), 1, b.size(), f) != b.size()) throw std::runtime_error("write failed");
  });
  while (!w.step(1 << 16)) {}
  if (std::fclose(f) != 0) throw std::runtime_error("close failed");
  bbolt::FileSource src(path);
  print_state(s, cluster, etcd_snapshot::snapshot_status(src));
  return 0;
}

int dump(const std::string& path, bool skip_hash_check) {
  bbolt::FileSource src(path);
  mvcc::MvccStore s;
  auto loaded = etcd_snapshot::load_snapshot(src, s, {skip_hash_check});
  print_state(s, loaded.cluster, etcd_snapshot::snapshot_status(src));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "make" && argc >= 3) return make(argv[2], argc > 3 ? std::stoul(argv[3]) : 20000);
    if (cmd == "dump" && argc >= 3) return dump(argv[2], argc > 3 && std::string(argv[3]) == "--skip-hash-check");
    std::cerr << "usage: etcd_snapshot_tool make FILE [KEYS] | dump FILE [--skip-hash-check]\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
