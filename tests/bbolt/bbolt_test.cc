// tests/bbolt/bbolt_test.cc: the streaming bbolt writer and the validating reader - round trips
// (inline, single-leaf, multi-level and overflow pages), stepping with small budgets, contract
// violations, and corrupt or truncated files refused with format_error (never a crash).
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "storage/bbolt/reader.h"
#include "storage/bbolt/writer.h"

namespace ringkv::storage::bbolt {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;
using Db = std::map<std::string, Entries>;

std::string write_db(const Db& db, size_t step_budget = SIZE_MAX / 2) {
  std::vector<std::unique_ptr<VectorSource>> sources;
  std::vector<BucketInput> inputs;
  for (const auto& [name, entries] : db) {
    sources.push_back(std::make_unique<VectorSource>(entries));
    inputs.push_back(BucketInput{name, sources.back().get()});
  }
  std::string out;
  StreamWriter w(inputs, [&](std::string_view b) { out.append(b); });
  while (!w.step(step_budget)) {}
  EXPECT_EQ(out.size(), w.page_count() * default_page_size);
  return out;
}

Db read_db(std::string_view bytes) {
  MemorySource src(bytes);
  Reader r(src);
  Db db;
  for (const BucketRef& b : r.buckets()) {
    Entries& e = db[b.name];
    r.for_each(b, [&](std::string_view k, std::string_view v, uint32_t) { e.emplace_back(k, v); });
  }
  return db;
}

std::string key_of(size_t i) {
  char b[32];
  snprintf(b, sizeof b, "key-%012zu", i);
  return b;
}

TEST(Bbolt, SmallBucketsAreInlineAndRoundTrip) {
  Db db{{"meta", {{"consistent_index", std::string(8, '\1')}}}, {"alarm", {}}, {"cluster", {{"clusterVersion", "3.4.0"}}}};
  std::string bytes = write_db(db);
  EXPECT_EQ(bytes.size(), 4u * default_page_size);  // meta, meta, freelist, root leaf
  EXPECT_EQ(read_db(bytes), db);
  MemorySource src(bytes);
  Reader r(src);
  EXPECT_EQ(r.meta().root, 3u);
  EXPECT_EQ(r.meta().freelist, 2u);
  for (const BucketRef& b : r.buckets()) EXPECT_EQ(b.root, 0u) << b.name;
}

TEST(Bbolt, ManyKeysBuildSeveralBranchLevels) {
  Entries big;
  for (size_t i = 0; i < 300000; ++i) big.emplace_back(key_of(i), std::string(i % 7, 'v'));
  Db db{{"key", big}, {"lease", {{"a", "b"}}}};
  std::string bytes = write_db(db);
  MemorySource src(bytes);
  Reader r(src);
  auto key = r.bucket("key");
  ASSERT_TRUE(key);
  ASSERT_NE(key->root, 0u);
  // root -> branch -> branch -> leaf: three branch levels are needed for this many leaves.
  auto flags_of = [&](pgid_t id) { return read_page_header(bytes.data() + id * default_page_size).flags; };
  auto first_child = [&](pgid_t id) { return load_le<uint64_t>(bytes.data() + id * default_page_size + 16 + 8); };
  pgid_t p = key->root;
  int branch_levels = 0;
  while (flags_of(p) & branch_page_flag) {
    ++branch_levels;
    p = first_child(p);
  }
  EXPECT_GE(branch_levels, 2);
  EXPECT_EQ(read_db(bytes), db);
}

TEST(Bbolt, LargeValuesUseOverflowPages) {
  Entries e;
  for (size_t i = 0; i < 20; ++i) e.emplace_back(key_of(i), std::string(1000 * i + 1, static_cast<char>('a' + i)));
  Db db{{"key", e}};
  EXPECT_EQ(read_db(write_db(db)), db);
}

TEST(Bbolt, SmallStepsWriteTheSameBytes) {
  Entries e;
  for (size_t i = 0; i < 5000; ++i) e.emplace_back(key_of(i), std::string(i % 300, 'x'));
  Db db{{"key", e}, {"meta", {{"m", "1"}}}, {"members", {}}};
  EXPECT_EQ(write_db(db, 100), write_db(db));
}

TEST(Bbolt, EmptyDatabaseAndEmptyBigBucket) {
  EXPECT_EQ(read_db(write_db({})), Db{});
  Entries e;
  for (size_t i = 0; i < 200; ++i) e.emplace_back(key_of(i), "v");  // too big to inline
  Db db{{"a", e}, {"b", {}}};
  EXPECT_EQ(read_db(write_db(db)), db);
}

TEST(Bbolt, SourceContractViolationsThrow) {
  VectorSource unordered(Entries{{"b", "1"}, {"a", "2"}});
  StreamWriter w({{"x", &unordered}}, [](std::string_view) {});
  EXPECT_THROW(w.run(), std::invalid_argument);
  VectorSource empty_key(Entries{{"", "1"}});
  StreamWriter w2({{"x", &empty_key}}, [](std::string_view) {});
  EXPECT_THROW(w2.run(), std::invalid_argument);
  VectorSource ok(Entries{});
  EXPECT_THROW(StreamWriter({{"x", &ok}, {"x", &ok}}, [](std::string_view) {}), std::invalid_argument);
}

Db sample_db() {
  Entries e;
  for (size_t i = 0; i < 3000; ++i) e.emplace_back(key_of(i), std::string(i % 50, 'q'));
  return Db{{"key", e}, {"meta", {{"consistent_index", "12345678"}}}, {"lease", {}}};
}

// Reads everything; returns normally or with format_error, anything else fails the test.
void read_or_refuse(std::string_view bytes) {
  try {
    (void)read_db(bytes);
  } catch (const format_error&) {
  }
}

TEST(Bbolt, TruncatedFilesAreRefused) {
  std::string bytes = write_db(sample_db());
  for (size_t cut = 0; cut < bytes.size(); cut += 1021) {
    EXPECT_THROW(read_db(std::string_view(bytes).substr(0, cut)), format_error) << cut;
  }
}

TEST(Bbolt, BadMetaChecksumFallsBackThenFails) {
  std::string bytes = write_db(sample_db());
  bytes[16 + 20] ^= 1;  // meta 0's root
  EXPECT_EQ(read_db(bytes), sample_db());  // meta 1 is still good
  bytes[default_page_size + 16 + 20] ^= 1;
  try {
    read_db(bytes);
    FAIL() << "accepted two bad metas";
  } catch (const format_error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_db(std::string(8192, 'x')), format_error);
}

TEST(Bbolt, RandomCorruptionNeverCrashes) {
  std::string good = write_db(sample_db());
  std::mt19937_64 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = good;
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < flips; ++i) {
      size_t at = 2 * default_page_size + rng() % (bytes.size() - 2 * default_page_size);
      bytes[at] = static_cast<char>(rng());
    }
    read_or_refuse(bytes);
  }
}

TEST(Bbolt, PageCycleIsRefused) {
  Entries e;
  for (size_t i = 0; i < 3000; ++i) e.emplace_back(key_of(i), "v");
  std::string bytes = write_db({{"key", e}});
  MemorySource src(bytes);
  pgid_t root = Reader(src).bucket("key")->root;
  // Point the root's first child back at the root.
  store_le<uint64_t>(bytes.data() + root * default_page_size + 16 + 8, root);
  EXPECT_THROW(read_db(bytes), format_error);
}

}  // namespace
}  // namespace ringkv::storage::bbolt
