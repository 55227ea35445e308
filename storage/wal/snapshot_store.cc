// snapshot_store: durable snapshot save, newest-valid load with .broken quarantine, pruning.
#include "storage/wal/snapshot_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include "runtime/io.h"
#include "runtime/log.h"
#include "storage/wal/data_dir.h"
#include "storage/wal/dirs.h"
#include "storage/wal/errors.h"

namespace ringkv::storage::wal {
namespace {
constexpr std::string_view temp_suffix = ".tmp";
constexpr std::string_view broken_suffix = ".broken";
}  // namespace

runtime::task<snapshot_store> snapshot_store::open(snapshot_config config) {
  if (config.dir.empty() || config.files_kept < 1) throw wal_error("snapshot_config: empty dir or files_kept < 1");
  co_await make_dirs(config.dir);
  snapshot_store store(std::move(config));
  store.dir_fd_ = co_await open_dir(store.config_.dir);
  bool removed = false;
  for (const std::string& name : list_dir(store.config_.dir)) {
    // Only ringkv's own temp names ("<term>-<index>.snap.tmp"): etcd keeps other files here.
    if (!name.ends_with(temp_suffix) || !parse_snapshot_file_name(name.substr(0, name.size() - temp_suffix.size()))) {
      continue;
    }
    const std::string path = join_path(store.config_.dir, name);
    check_io(co_await runtime::io::unlink(path.c_str()), "remove " + path);
    removed = true;
  }
  if (removed) co_await fsync_dir(store.dir_fd_, store.config_.dir);
  co_return store;
}

// Whether the file at `path` begins with ringkv's snapshot magic; nullopt when it is gone.
runtime::task<std::optional<bool>> snapshot_store::starts_with_magic(const std::string& path) {
  const int fd = co_await runtime::io::openat(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd == -ENOENT) co_return std::nullopt;
  check_io(fd, "open " + path);
  std::string head(snapshot_file_magic.size(), '\0');
  const int got = co_await runtime::io::read_at(fd, head.data(), head.size(), 0);
  co_await runtime::io::close(fd);
  check_io(got, "read " + path);
  co_return head == snapshot_file_magic;
}

snapshot_store::snapshot_store(snapshot_store&& other) noexcept
    : config_(std::move(other.config_)), dir_fd_(std::exchange(other.dir_fd_, -1)) {}

snapshot_store::~snapshot_store() {
  if (dir_fd_ >= 0) ::close(dir_fd_);  // close() was not awaited: release the descriptor anyway
}

runtime::task<void> snapshot_store::close() {
  if (dir_fd_ >= 0) co_await runtime::io::close(std::exchange(dir_fd_, -1));
}

std::vector<snapshot_id> snapshot_store::list() const {
  std::vector<snapshot_id> ids;
  for (const std::string& name : list_dir(config_.dir)) {
    if (auto id = parse_snapshot_file_name(name)) ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end(), [](const snapshot_id& a, const snapshot_id& b) {
    return a.index != b.index ? a.index > b.index : a.term > b.term;
  });
  return ids;
}

runtime::task<snapshot_writer> snapshot_store::begin_save(snapshot_id id) {
  const std::string name = snapshot_file_name(id);
  const std::string temp = name + std::string(temp_suffix);
  const std::string temp_path = join_path(config_.dir, temp);
  // Read and write: the file is mapped once saved.
  const int fd = co_await runtime::io::openat(dir_fd_, temp.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
  check_io(fd, "create " + temp_path);
  co_return snapshot_writer(id, fd, temp_path, join_path(config_.dir, name));
}

runtime::task<snapshot_mapping> snapshot_store::finish_save(snapshot_writer& writer) {
  if (writer.fd_ < 0) throw wal_error("snapshot " + writer.path_ + " was already finished");
  const auto header = encode_snapshot_header(writer.id_, writer.payload_bytes(), writer.payload_checksum());
  int synced = 0;
  try {
    // The header, which carries the payload's checksum, goes last: the file is only renamed into
    // place once all of it is synced, so a crash before leaves just the temp file.
    co_await write_fully(writer.fd_, header.data(), header.size(), 0, writer.temp_path_);
    synced = co_await runtime::io::fsync(writer.fd_);
  } catch (...) {
    synced = -EIO;
  }
  check_io(synced, "write and fsync " + writer.temp_path_);  // on failure the writer removes the file
  const int fd = std::exchange(writer.fd_, -1);
  snapshot_mapping mapping;
  try {
    mapping = snapshot_mapping::map_file(fd, writer.temp_path_);
  } catch (...) {
    writer.fd_ = fd;
    throw;
  }
  co_await runtime::io::close(fd);
  if (const int renamed = co_await runtime::io::rename(writer.temp_path_.c_str(), writer.path_.c_str()); renamed < 0) {
    ::unlink(writer.temp_path_.c_str());
    check_io(renamed, "rename " + writer.temp_path_);
  }
  co_await fsync_dir(dir_fd_, config_.dir);
  co_await prune();
  co_return mapping;
}

runtime::task<void> snapshot_store::save(snapshot_id id, std::string_view data) {
  snapshot_writer writer = co_await begin_save(id);
  for (size_t at = 0; at < data.size(); at += snapshot_append_bytes) {
    co_await writer.append(data.substr(at, snapshot_append_bytes));
  }
  co_await finish_save(writer);
}

runtime::task<void> snapshot_store::prune() {
  const auto ids = list();
  bool removed = false;
  for (size_t i = config_.files_kept; i < ids.size(); ++i) {
    const std::string path = join_path(config_.dir, snapshot_file_name(ids[i]));
    // Two saves can prune at once (the member's own snapshot and one installed from the leader): a
    // file the other one removed first is already gone, which is what pruning wants.
    const std::optional<bool> ours = co_await starts_with_magic(path);
    if (!ours) continue;
    if (!*ours) {  // a file with our name pattern that ringkv did not write: left alone
      log::warn("not pruning a snapshot file that is not ringkv's", {{"path", path}});
      continue;
    }
    const int unlinked = co_await runtime::io::unlink(path.c_str());
    if (unlinked == -ENOENT) continue;
    check_io(unlinked, "remove " + path);
    removed = true;
  }
  if (removed) co_await fsync_dir(dir_fd_, config_.dir);
}

runtime::task<std::optional<loaded_snapshot>> snapshot_store::load_newest() {
  for (const snapshot_id& id : list()) {
    const std::string name = snapshot_file_name(id);
    const std::string path = join_path(config_.dir, name);
    const int fd = co_await runtime::io::openat(dir_fd_, name.c_str(), O_RDONLY | O_CLOEXEC, 0);
    check_io(fd, "open " + path);
    auto file = std::make_shared<snapshot_mapping>();
    try {
      *file = snapshot_mapping::map_file(fd, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    co_await runtime::io::close(fd);
    const std::string_view bytes = file->file();
    const std::string problem =
        verify_snapshot_file(id, std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
    if (problem.empty()) co_return loaded_snapshot{id, std::move(file)};
    if (!bytes.starts_with(snapshot_file_magic)) {  // not ringkv's: never renamed, the operator decides
      throw wal_error(path + " is not a ringkv snapshot (no " + std::string(snapshot_file_magic) +
                      " header); ringkv leaves it alone: move it out of " + config_.dir);
    }
    file.reset();

    const std::string broken = path + std::string(broken_suffix);
    log::warn("snapshot file is damaged; moving it aside and trying the previous one",
              {{"path", path}, {"error", problem}, {"renamed-to", broken}});
    check_io(co_await runtime::io::rename(path.c_str(), broken.c_str()), "rename " + path);
    co_await fsync_dir(dir_fd_, config_.dir);
  }
  co_return std::nullopt;
}

}  // namespace ringkv::storage::wal
