// tests/runtime/log_output_test.cc — runtime/log_output.h and runtime/log_writer.h: several outputs get
// every line; the journald output speaks the native protocol (read back from a real AF_UNIX datagram
// socket, large entries through a sealed memfd) with etcd's priorities; the background writer keeps
// logging non-blocking and bounded while an output is stalled, then reports what it dropped.
#include "runtime/log_output.h"
#include "runtime/log_writer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>

namespace ringkv::log {
namespace {

std::string read_all(int fd) {
  std::string text;
  char buffer[65536];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, size_t(n));
  return text;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// The native protocol's fields, parsed as journald does (journald-native.c): KEY=value lines, or KEY
// followed by a little-endian 64-bit length and that many bytes.
std::map<std::string, std::string> parse_native_entry(const std::string& entry) {
  std::map<std::string, std::string> fields;
  size_t at = 0;
  while (at < entry.size()) {
    size_t end = entry.find('\n', at);
    EXPECT_NE(end, std::string::npos);
    std::string line = entry.substr(at, end - at);
    if (auto eq = line.find('='); eq != std::string::npos) {
      fields[line.substr(0, eq)] = line.substr(eq + 1);
      at = end + 1;
      continue;
    }
    uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= uint64_t(uint8_t(entry[end + 1 + i])) << (8 * i);
    fields[line] = entry.substr(end + 9, length);
    EXPECT_EQ(entry[end + 9 + length], '\n');
    at = end + 9 + length + 1;
  }
  return fields;
}

struct journal_socket {  // a datagram socket bound where the output sends, read as journald reads
  std::string dir, path;
  int fd = -1;
  bool last_came_in_memfd = false;
  journal_socket() {
    char pattern[] = "/tmp/ringkv-journal-XXXXXX";
    dir = ::mkdtemp(pattern);
    path = dir + "/socket";
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    int receive_buffer = 4 * 1024 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof receive_buffer);
  }
  ~journal_socket() {
    ::close(fd);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  // One entry: the datagram, or the content of the memfd passed with an empty datagram.
  std::string receive() {
    std::string datagram(16 * 1024 * 1024, '\0');
    iovec io{datagram.data(), datagram.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd, &message, MSG_DONTWAIT);
    if (n < 0) return "";
    datagram.resize(size_t(n));
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    last_came_in_memfd = header != nullptr && header->cmsg_type == SCM_RIGHTS;
    if (!last_came_in_memfd) return datagram;
    EXPECT_EQ(n, 0) << "a descriptor travels in an empty datagram";
    int memfd;
    std::memcpy(&memfd, CMSG_DATA(header), sizeof memfd);
    EXPECT_EQ(::fcntl(memfd, F_GET_SEALS) & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
              F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
        << "journald takes only a sealed memfd";
    ::lseek(memfd, 0, SEEK_SET);
    std::string content = read_all(memfd);
    ::close(memfd);
    return content;
  }
};

TEST(LogOutput, EveryLineGoesToEveryOutput) {
  int first[2], second[2];
  ASSERT_EQ(::pipe(first), 0);
  ASSERT_EQ(::pipe(second), 0);
  std::vector<std::unique_ptr<log_output>> outputs;
  outputs.push_back(std::make_unique<fd_log_output>(first[1], true));
  outputs.push_back(std::make_unique<fd_log_output>(second[1], true));
  set_outputs(std::move(outputs));
  info("to both", {{"n", 1}});
  warn("to both again");
  set_output_fd(2);  // closes both write ends
  std::string a = read_all(first[0]), b = read_all(second[0]);
  ::close(first[0]);
  ::close(second[0]);
  EXPECT_EQ(a, b);
  EXPECT_EQ(count_of(a, "\n"), 2u);
  EXPECT_NE(a.find(R"("msg":"to both","n":1})"), std::string::npos) << a;
}

TEST(LogOutput, JournalPrioritiesAreEtcds) {
  EXPECT_EQ(journal_priority(log_level::debug), 7);
  EXPECT_EQ(journal_priority(log_level::info), 6);
  EXPECT_EQ(journal_priority(log_level::warn), 4);
  EXPECT_EQ(journal_priority(log_level::error), 3);
  EXPECT_EQ(journal_priority(log_level::panic), 2);
  EXPECT_EQ(journal_priority(log_level::fatal), 2);
}

TEST(LogOutput, JournalEntriesInTheNativeProtocol) {
  journal_socket journald;
  std::string error;
  auto journal = journal_log_output::open(journald.path, "ringkv", error);
  ASSERT_TRUE(journal) << error;
  std::vector<std::unique_ptr<log_output>> outputs;
  outputs.push_back(std::move(journal));
  set_outputs(std::move(outputs));
  warn("slow fdatasync", {{"took", "1.2s"}});
  log::error("two\nlines");
  set_output_fd(2);

  auto entry = parse_native_entry(journald.receive());
  EXPECT_FALSE(journald.last_came_in_memfd);
  EXPECT_EQ(entry["PRIORITY"], "4");
  EXPECT_EQ(entry["SYSLOG_IDENTIFIER"], "ringkv");
  EXPECT_EQ(entry["PACKAGE"], "tests/runtime");
  EXPECT_EQ(entry["MESSAGE"].find(R"({"level":"warn",)"), 0u) << entry["MESSAGE"];
  EXPECT_NE(entry["MESSAGE"].find(R"("msg":"slow fdatasync","took":"1.2s"})"), std::string::npos);
  EXPECT_NE(entry["MESSAGE"].back(), '\n');
  auto second = parse_native_entry(journald.receive());
  EXPECT_EQ(second["PRIORITY"], "3");
  EXPECT_NE(second["MESSAGE"].find(R"("msg":"two\nlines")"), std::string::npos) << second["MESSAGE"];
}

TEST(LogOutput, JournalEntryLargerThanADatagramGoesInASealedMemfd) {
  journal_socket journald;
  std::string error;
  auto journal = journal_log_output::open(journald.path, "ringkv", error);
  ASSERT_TRUE(journal) << error;
  // Above the 8 MiB send buffer even when root may exceed wmem_max: EMSGSIZE, then the memfd.
  const std::string value(9 * 1024 * 1024, 'x');
  const std::string line = format_line(log_level::info, "big", {{"value", value}}, std::source_location::current());
  ASSERT_TRUE(journal->write_line(log_level::info, "tests/runtime", line));
  auto entry = parse_native_entry(journald.receive());
  EXPECT_TRUE(journald.last_came_in_memfd);
  EXPECT_EQ(entry["MESSAGE"].size(), line.size() - 1);
  EXPECT_EQ(entry["PRIORITY"], "6");
}

TEST(LogOutput, JournalThatCannotBeDialledIsRefusedAsEtcdDoes) {
  std::string error;
  EXPECT_FALSE(journal_log_output::open("/nonexistent/journal/socket", "ringkv", error));
  EXPECT_EQ(error, "dial unixgram /nonexistent/journal/socket: connect: no such file or directory");
}

TEST(LogWriter, StalledOutputNeitherBlocksNorGrowsTheLog) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  // Fill the pipe: the writer thread's next write(2) blocks until the test reads.
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  const std::string filler(4096, 'f');
  size_t filled = 0;
  for (ssize_t n; (n = ::write(fds[1], filler.data(), filler.size())) > 0;) filled += size_t(n);
  ::fcntl(fds[1], F_SETFL, 0);
  set_output_fd(fds[1]);
  start_background_writer();

  const uint64_t dropped_before = dropped_lines();
  const std::string value(1000, 'v');
  const size_t lines = 3 * log_queued_bytes_max / 1000;  // three times what the queue holds
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < lines; ++i) info("while stalled", {{"i", i}, {"value", value}});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(5)) << "logging waited for the stalled output";
  const uint64_t dropped = dropped_lines() - dropped_before;
  EXPECT_GT(dropped, lines / 2) << "the queue is bounded: most lines past it are dropped";
  EXPECT_LT(dropped, lines);

  std::string text;
  std::thread reader([&] { text = read_all(fds[0]); });
  EXPECT_TRUE(stop_background_writer());
  set_output_fd(2);
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  EXPECT_EQ(count_of(text, "while stalled") + dropped, lines);
  EXPECT_NE(text.find(R"("msg":"dropped log lines: the log outputs are slower than the log","dropped-lines":)" +
                      std::to_string(dropped)),
            std::string::npos);
  EXPECT_EQ(text.substr(0, filled), std::string(filled / filler.size() * filler.size(), 'f').substr(0, filled));
}

TEST(LogWriter, StopDrainsWhatIsQueued) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  set_output_fd(fds[1]);
  start_background_writer();
  for (int i = 0; i < 100; ++i) info("queued", {{"i", i}});
  std::string text;
  std::thread reader([&] { text = read_all(fds[0]); });
  EXPECT_TRUE(stop_background_writer());
  info("synchronous again");  // after stop: written by this thread, after every queued line
  set_output_fd(2);
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  EXPECT_EQ(count_of(text, R"("msg":"queued")"), 100u);
  EXPECT_EQ(text.rfind("synchronous again"), text.find("synchronous again"));
  EXPECT_GT(text.find("synchronous again"), text.rfind(R"("msg":"queued")"));
}

// runtime/run.cc logs why a task failed, then calls std::terminate: that line must not stay in the queue.
TEST(LogWriterDeathTest, TerminateWritesTheQueuedLinesFirst) {
  EXPECT_DEATH(
      {
        set_output_fd(2);
        start_background_writer();
        for (int i = 0; i < 1000; ++i) info("before the crash", {{"i", i}});
        log::error("exception escaped a detached task", {{"error", "last words"}});
        std::terminate();
      },
      R"(\"i\":999\}(.|\n)*"msg":"exception escaped a detached task","error":"last words")");
}

}  // namespace
}  // namespace ringkv::log
