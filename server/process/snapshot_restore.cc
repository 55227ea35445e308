// server/process/snapshot_restore.cc: `ringkv snapshot restore` (see snapshot_restore.h).
#include "server/process/snapshot_restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>

#include "server/common/config.h"
#include "server/process/cluster_bootstrap.h"
#include "server/auth/auth_store.h"
#include "server/replica/kv_applier.h"
#include "server/replica/member_identity.h"
#include "server/replica/membership.h"
#include "server/replica/membership_join.h"
#include "server/api/snapshot_seal.h"
#include "storage/etcd_snapshot/reader.h"
#include "storage/wal/data_dir.h"
#include "storage/wal/snapshot_format.h"

namespace ringkv::server {
namespace {

constexpr const char* usage =
    "usage: ringkv snapshot restore FILE [--data-dir DIR] [--name NAME] [--initial-cluster NAME=URL,...]\n"
    "         [--initial-cluster-token TOKEN] [--initial-advertise-peer-urls URL,...] [--skip-hash-check]\n";

// The restored snapshot sits at raft index 1, term 1 (etcd's restore uses one index per member).
constexpr storage::wal::snapshot_id restored_snapshot_id{1, 1};

struct restore_args {
  std::string file;
  std::vector<std::string> server_flags;  // passed to the server's own flag parser
  bool skip_hash_check = false;
};

std::optional<restore_args> parse_args(const std::vector<std::string>& args) {
  static const std::vector<std::string> server_flags = {"--data-dir", "--name", "--initial-cluster",
                                                        "--initial-cluster-token", "--initial-advertise-peer-urls"};
  restore_args out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    bool has_value = false;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    if (flag == "--skip-hash-check") {
      out.skip_hash_check = !has_value || value == "true";
    } else if (std::find(server_flags.begin(), server_flags.end(), flag) != server_flags.end()) {
      if (!has_value && i + 1 >= args.size()) return std::nullopt;
      out.server_flags.push_back(flag + "=" + (has_value ? value : args[++i]));
    } else if (flag.rfind("-", 0) != 0 && out.file.empty()) {
      out.file = flag;
    } else {
      return std::nullopt;
    }
  }
  if (out.file.empty()) return std::nullopt;
  return out;
}

void write_file_synced(const std::string& path, std::string_view a, std::string_view b) {
  FILE* f = std::fopen(path.c_str(), "wbx");
  if (f == nullptr) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  bool ok = std::fwrite(a.data(), 1, a.size(), f) == a.size() && std::fwrite(b.data(), 1, b.size(), f) == b.size() &&
            std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  int error = errno;
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error("cannot write " + path + ": " + std::strerror(error));
}

void sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int error = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot sync " + dir + ": " + std::strerror(error));
  }
  ::close(fd);
}

// The raft snapshot's bytes: the membership section, then kv_applier's state (no alarms, the auth store,
// the MVCC store).
std::string snapshot_payload(const member_identity& identity, const storage::mvcc::MvccStore& store,
                             const auth::auth_store& auth) {
  std::vector<uint64_t> ids;
  std::vector<member_record> known;
  for (const cluster_member& m : identity.members) {
    ids.push_back(m.id);
    known.push_back(make_member(m.id, m.peer_urls, m.name));
  }
  membership members;
  members.bootstrap(ids, known);
  std::string state(8, '\0');  // u64 alarm count = 0
  kv_applier::append_auth_section(state, auth);
  state += store.snapshot();
  return wrap_snapshot(members, state);
}

// ringkv's snapshot files from before it wrote etcd's format (Maintenance.Snapshot until issue 18): the
// MVCC store's own snapshot ("RKVMVCC1", ending in its xxh3), zero-padded to 512 bytes, then the sha256
// of the padded body (server/api/snapshot_seal.h). Such files held the whole state in memory anyway.
constexpr std::string_view raw_format_magic = "RKVMVCC1";
constexpr uint64_t raw_format_bytes_max = uint64_t{8} << 30;  // far above any state this format held

bool is_raw_format(const storage::bbolt::FileSource& file) {
  if (file.size() < raw_format_magic.size()) return false;
  std::string head(raw_format_magic.size(), '\0');
  file.read(0, head.size(), head.data());
  return head == raw_format_magic;
}

storage::etcd_snapshot::LoadedSnapshot load_raw_format(const storage::bbolt::FileSource& file,
                                                      storage::mvcc::MvccStore& store, bool skip_hash_check) {
  if (file.size() > raw_format_bytes_max || file.size() < sha256_bytes + snapshot_block_bytes)
    throw std::runtime_error("snapshot file in ringkv's older format has an impossible size");
  std::string sealed(file.size(), '\0');
  file.read(0, sealed.size(), sealed.data());
  if (!skip_hash_check && !verify_sealed_snapshot(sealed))
    throw std::runtime_error("snapshot file in ringkv's older format: sha256 mismatch (damaged or truncated)");
  // The body ends in a non-zero 8-byte checksum, so it ends within 8 bytes after the last non-zero byte.
  std::string_view padded = std::string_view(sealed).substr(0, sealed.size() - sha256_bytes);
  size_t last = padded.find_last_not_of('\0');
  if (last == std::string_view::npos) throw std::runtime_error("snapshot file in ringkv's older format is empty");
  for (size_t end = last + 1; end <= std::min(padded.size(), last + 8); ++end) {
    if (storage::mvcc::MvccStore::check_snapshot(padded.substr(0, end)) != storage::mvcc::Errc::ok) continue;
    if (store.restore(padded.substr(0, end)) != storage::mvcc::Errc::ok) break;
    storage::etcd_snapshot::LoadedSnapshot loaded;
    loaded.revision = store.current_revision();
    loaded.compact_revision = store.compact_revision();
    loaded.key_records = static_cast<int64_t>(store.key_count());
    loaded.leases = static_cast<int64_t>(store.lease_records().size());
    return loaded;
  }
  throw std::runtime_error("snapshot file in ringkv's older format does not decode (damaged)");
}

void restore(const restore_args& args) {
  std::vector<std::string> argv{"ringkv"};
  argv.insert(argv.end(), args.server_flags.begin(), args.server_flags.end());
  config_parse_result parsed = parse_config(argv, {});
  if (!parsed.config) throw std::runtime_error(parsed.error);
  server_config config = *parsed.config;
  const std::string final_dir = config.data_dir;
  if (std::filesystem::exists(final_dir)) throw std::runtime_error("data-dir \"" + final_dir + "\" exists");
  member_identity identity = derive_identity(config);
  if (auto problem = check_cluster_flags(config, identity, /*fresh=*/true); !problem.empty())
    throw std::runtime_error(problem);

  storage::bbolt::FileSource file(args.file);
  storage::mvcc::MvccStore store;
  storage::etcd_snapshot::LoadedSnapshot loaded =
      is_raw_format(file) ? load_raw_format(file, store, args.skip_hash_check)
                          : storage::etcd_snapshot::load_snapshot(file, store, {args.skip_hash_check});
  std::string problem;
  std::optional<auth::auth_store> auth =
      auth::auth_store::from_records(loaded.cluster.auth_enabled, loaded.cluster.auth_revision,
                                     loaded.cluster.auth_users, loaded.cluster.auth_roles, problem);
  if (!auth) throw std::runtime_error("snapshot's auth buckets: " + problem);
  std::string payload = snapshot_payload(identity, store, *auth);
  auto header = storage::wal::encode_snapshot_header(
      restored_snapshot_id, std::span(reinterpret_cast<const std::byte*>(payload.data()), payload.size()));

  const std::string temp_dir = final_dir + ".restore-tmp";
  std::error_code ec;
  std::filesystem::remove_all(temp_dir, ec);  // a leftover of an interrupted restore
  try {
    std::filesystem::create_directories(temp_dir);
    storage::wal::write_data_dir_marker(temp_dir);  // first, as the server does: the dir is ringkv's
    std::filesystem::create_directories(temp_dir + "/member/snap");
    write_file_synced(temp_dir + "/member/snap/" + storage::wal::snapshot_file_name(restored_snapshot_id),
                      std::string_view(reinterpret_cast<const char*>(header.data()), header.size()), payload);
    server_config temp_config = config;
    temp_config.data_dir = temp_dir;
    if (identity.multi_member()) persist_identity(temp_config, identity);
    for (const char* dir : {"/member/snap", "/member", ""}) sync_dir(temp_dir + dir);
    std::filesystem::rename(temp_dir, final_dir);
    std::filesystem::path parent = std::filesystem::absolute(final_dir).parent_path();
    sync_dir(parent.string());
  } catch (...) {
    std::filesystem::remove_all(temp_dir, ec);
    throw;
  }
  std::printf("restored snapshot %s into %s: revision %lld, compacted at %lld, %lld key records, %lld leases, "
              "member %s (%llx)\n",
              args.file.c_str(), final_dir.c_str(), static_cast<long long>(loaded.revision),
              static_cast<long long>(loaded.compact_revision), static_cast<long long>(loaded.key_records),
              static_cast<long long>(loaded.leases), config.name.c_str(),
              static_cast<unsigned long long>(identity.member_id));
  if (loaded.unleased_keys > 0)
    std::fprintf(stderr, "warning: %lld keys named a lease the snapshot does not hold; they are restored without it\n",
                 static_cast<long long>(loaded.unleased_keys));
}

}  // namespace

int run_snapshot_restore(const std::vector<std::string>& args) {
  std::optional<restore_args> parsed = parse_args(args);
  if (!parsed) {
    std::fputs(usage, stderr);
    return 2;
  }
  try {
    restore(*parsed);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "Error: %s\n", e.what());
    return 1;
  }
}

}  // namespace ringkv::server
