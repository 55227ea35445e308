// tests/runtime/io_test.cc - file operations through the ring: create/write/read/sync/rename/unlink,
// O_DIRECT round trip with fdatasync, fallocate, error results, and injected faults.
#include "runtime/io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "runtime/aligned_buffer.h"
#include "runtime/io_faults.h"
#include "runtime/reactor.h"
#include "runtime/when_all.h"
#include "tests/runtime/runtime_test_support.h"

namespace ringkv::runtime {
namespace {

using testing::run_one_shard;

using testing::temp_dir;

TEST(Io, FileLifecycleThroughTheRing) {
  temp_dir dir;
  ASSERT_TRUE(dir.ok());
  const std::string sub = dir.file("sub");
  const std::string first = sub + "/first";
  const std::string second = sub + "/second";
  const int result = run_one_shard([&]() -> task<int> {
    if (co_await io::mkdir(sub.c_str(), 0755) != 0) co_return 1;
    if (co_await io::mkdir(sub.c_str(), 0755) != -EEXIST) co_return 2;
    const int fd = co_await io::openat(AT_FDCWD, first.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) co_return 3;
    const std::string text = "hello ring";
    if (co_await io::write_at(fd, text.data(), text.size(), 100) != static_cast<int>(text.size())) co_return 4;
    iovec parts[2] = {{const_cast<char*>("ab"), 2}, {const_cast<char*>("cd"), 2}};
    if (co_await io::writev_at(fd, parts, 2, 0) != 4) co_return 5;
    if (co_await io::fdatasync(fd) != 0) co_return 6;
    if (co_await io::fallocate(fd, 0, 0, 8192) != 0) co_return 7;
    if (co_await io::fsync(fd) != 0) co_return 8;
    char back[16] = {};
    if (co_await io::read_at(fd, back, text.size(), 100) != static_cast<int>(text.size())) co_return 9;
    if (std::string(back, text.size()) != text) co_return 10;
    if (co_await io::read_at(fd, back, 4, 0) != 4 || std::memcmp(back, "abcd", 4) != 0) co_return 11;
    if (co_await io::close(fd) != 0) co_return 12;
    if (co_await io::rename(first.c_str(), second.c_str()) != 0) co_return 13;
    if (co_await io::openat(AT_FDCWD, first.c_str(), O_RDONLY, 0) != -ENOENT) co_return 14;
    if (co_await io::unlink(second.c_str()) != 0) co_return 15;
    if (co_await io::unlink(second.c_str()) != -ENOENT) co_return 16;
    if (co_await io::rmdir(sub.c_str()) != 0) co_return 17;
    co_return 0;
  });
  EXPECT_EQ(result, 0);
  struct stat st;
  EXPECT_NE(::stat(sub.c_str(), &st), 0);  // the directory really is gone
}

TEST(Io, FileSizeAfterFallocateIsVisibleOutsideTheRuntime) {
  temp_dir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.file("segment");
  constexpr std::uint64_t segment_bytes = 1 << 20;
  ASSERT_EQ(run_one_shard([&]() -> task<int> {
              const int fd = co_await io::openat(AT_FDCWD, path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
              if (fd < 0) co_return 1;
              const int rc = co_await io::fallocate(fd, 0, 0, segment_bytes);
              co_await io::close(fd);
              co_return rc;
            }),
            0);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), segment_bytes);
}

TEST(Io, ErrorsComeBackAsNegativeErrno) {
  const int result = run_one_shard([]() -> task<int> {
    char byte = 0;
    if (co_await io::read_at(-1, &byte, 1, 0) != -EBADF) co_return 1;
    if (co_await io::fdatasync(987654) != -EBADF) co_return 2;
    if (co_await io::openat(AT_FDCWD, "/nonexistent-dir/x", O_RDONLY, 0) != -ENOENT) co_return 3;
    // A length the kernel interface cannot carry is refused before reaching the ring.
    if (co_await io::read_at(0, &byte, std::size_t{1} << 33, 0) != -EINVAL) co_return 4;
    co_return 0;
  });
  EXPECT_EQ(result, 0);
}

// O_DIRECT needs a file system that supports it (tmpfs does not on older kernels): try /tmp, then
// /var/tmp, then the build directory. Returns the directory used, or "" when none accepts O_DIRECT.
std::string direct_io_parent() {
  const std::string candidates[] = {"/tmp", "/var/tmp", std::filesystem::current_path().string()};
  for (const std::string& parent : candidates) {
    temp_dir probe_dir(parent);
    if (!probe_dir.ok()) continue;
    const int fd = ::open(probe_dir.file("probe").c_str(), O_CREAT | O_RDWR | O_DIRECT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::close(fd);
      return parent;
    }
  }
  return "";
}

TEST(Io, DirectWriteFdatasyncReadRoundTrip) {
  const std::string parent = direct_io_parent();
  if (parent.empty()) GTEST_SKIP() << "no file system here accepts O_DIRECT";
  std::printf("O_DIRECT test directory parent: %s\n", parent.c_str());
  temp_dir dir(parent);
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.file("direct");
  constexpr std::size_t block_bytes = 4096;
  constexpr int blocks = 16;
  const int result = run_one_shard([&]() -> task<int> {
    const int fd = co_await io::openat(AT_FDCWD, path.c_str(), O_CREAT | O_RDWR | O_DIRECT | O_CLOEXEC, 0644);
    if (fd < 0) co_return 1;
    aligned_buffer out(block_bytes * blocks);
    for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = static_cast<std::byte>((i * 131 + 7) & 0xff);
    // Append block by block, the way the WAL does, then make it durable.
    for (int b = 0; b < blocks; ++b) {
      const int written = co_await io::write_at(fd, out.data() + b * block_bytes, block_bytes, b * block_bytes);
      if (written != static_cast<int>(block_bytes)) co_return 2;
    }
    if (co_await io::fdatasync(fd) != 0) co_return 3;
    aligned_buffer in(block_bytes * blocks);
    if (co_await io::read_at(fd, in.data(), in.size(), 0) != static_cast<int>(in.size())) co_return 4;
    if (std::memcmp(in.data(), out.data(), out.size()) != 0) co_return 5;
    // Misaligned O_DIRECT I/O is refused by the kernel, not corrupted.
    if (co_await io::write_at(fd, out.data() + 1, 100, 0) != -EINVAL) co_return 6;
    co_await io::close(fd);
    co_return 0;
  });
  EXPECT_EQ(result, 0);
}

TEST(Io, InjectedFdatasyncFailureReturnsEio) {
  temp_dir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.file("wal");
  io_faults::clear();
  const int result = run_one_shard([&]() -> task<int> {
    const int fd = co_await io::openat(AT_FDCWD, path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) co_return 1;
    const int other_fd = co_await io::openat(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC, 0);
    if (other_fd < 0) co_return 2;
    io_faults::fail_next(io_op::fdatasync, EIO, fd);
    if (co_await io::fdatasync(other_fd) != 0) co_return 3;  // another fd is not affected
    if (co_await io::fdatasync(fd) != -EIO) co_return 4;     // the armed one fails ...
    if (co_await io::fdatasync(fd) != 0) co_return 5;        // ... once
    // A write fault lets the write reach the kernel and then reports the error.
    io_faults::fail_next(io_op::write, ENOSPC);
    if (co_await io::write_at(fd, "x", 1, 0) != -ENOSPC) co_return 6;
    if (io_faults::pending() != 0) co_return 7;
    co_await io::close(other_fd);
    co_await io::close(fd);
    co_return 0;
  });
  io_faults::clear();
  EXPECT_EQ(result, 0);
}

TEST(Io, MoreOperationsInOneTurnThanRingEntriesAllComplete) {
  reactor_config config;
  config.handle_signals = false;
  config.ring_entries = 8;  // the submission queue fills and is flushed mid-turn
  constexpr int operations = 1000;
  const int result = run(config, []() -> task<int> {
    int completed = 0;
    task_group group;
    for (int i = 0; i < operations; ++i) {
      group.spawn([](int& done) -> task<void> {
        if (co_await io::nop() == 0) ++done;
      }(completed));
    }
    co_await group.wait();
    co_return completed;
  });
  EXPECT_EQ(result, operations);
}

}  // namespace
}  // namespace ringkv::runtime
