// server/process/snapshot_command.cc: `ringkv snapshot status` (see snapshot_command.h), printed
// exactly as etcdctl 3.4 does: simple "hash, revision, total keys, total size", a right-aligned
// table, or JSON; sizes in SI units as go-humanize's Bytes; errors as "Error: ..." with status 1.
#include "server/process/snapshot_command.h"

#include "server/process/snapshot_restore.h"

#include <cmath>
#include <cstdio>
#include <exception>

#include "storage/etcd_snapshot/reader.h"

namespace ringkv::server {
namespace {

using storage::etcd_snapshot::SnapshotStatus;

constexpr const char* usage =
    "usage: ringkv snapshot status FILE [-w|--write-out simple|table|json]\n"
    "       ringkv snapshot restore FILE --data-dir DIR --name NAME ... (see ringkv snapshot restore --help)\n";

// go-humanize Bytes: SI units, one decimal below 10.
std::string human_bytes(uint64_t n) {
  if (n < 10) return std::to_string(n) + " B";
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int e = static_cast<int>(std::floor(std::log(static_cast<double>(n)) / std::log(1000.0)));
  double val = std::floor(static_cast<double>(n) / std::pow(1000.0, e) * 10 + 0.5) / 10;
  char b[32];
  std::snprintf(b, sizeof b, val < 10 ? "%.1f %s" : "%.0f %s", val, units[e]);
  return b;
}

std::vector<std::string> status_row(const SnapshotStatus& s) {
  char hash[16];
  std::snprintf(hash, sizeof hash, "%x", s.hash);
  return {hash, std::to_string(s.revision), std::to_string(s.total_keys), human_bytes(s.total_size)};
}

// olekukonko/tablewriter as etcdctl sets it up: upper-case centred header, cells aligned right.
std::string table(const std::vector<std::string>& header, const std::vector<std::string>& row) {
  std::vector<size_t> width;
  for (size_t i = 0; i < header.size(); ++i) width.push_back(std::max(header[i].size(), row[i].size()));
  std::string line = "+";
  for (size_t w : width) line += std::string(w + 2, '-') + "+";
  line += "\n";
  std::string out = line + "|";
  for (size_t i = 0; i < header.size(); ++i) {
    std::string h;
    for (char c : header[i]) h.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    size_t gap = width[i] - h.size();
    out += " " + std::string(gap / 2, ' ') + h + std::string(gap - gap / 2, ' ') + " |";
  }
  out += "\n" + line + "|";
  for (size_t i = 0; i < row.size(); ++i) out += " " + std::string(width[i] - row[i].size(), ' ') + row[i] + " |";
  return out + "\n" + line;
}

int status(const std::string& path, const std::string& format) {
  storage::bbolt::FileSource file(path);
  SnapshotStatus s = storage::etcd_snapshot::snapshot_status(file);
  std::vector<std::string> row = status_row(s);
  if (format == "json") {
    std::printf("{\"hash\":%u,\"revision\":%lld,\"totalKey\":%lld,\"totalSize\":%llu}\n", s.hash,
                static_cast<long long>(s.revision), static_cast<long long>(s.total_keys),
                static_cast<unsigned long long>(s.total_size));
  } else if (format == "table") {
    std::fputs(table({"hash", "revision", "total keys", "total size"}, row).c_str(), stdout);
  } else {
    std::printf("%s, %s, %s, %s\n", row[0].c_str(), row[1].c_str(), row[2].c_str(), row[3].c_str());
  }
  return 0;
}

}  // namespace

int run_snapshot_command(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "restore") return run_snapshot_restore({args.begin() + 1, args.end()});
  std::string sub, file, format = "simple";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "-w" || a == "--write-out") && i + 1 < args.size()) {
      format = args[++i];
    } else if (a.rfind("--write-out=", 0) == 0) {
      format = a.substr(12);
    } else if (sub.empty()) {
      sub = a;
    } else if (file.empty()) {
      file = a;
    } else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  if (sub != "status" || file.empty() || (format != "simple" && format != "table" && format != "json")) {
    std::fputs(usage, stderr);
    return 2;
  }
  try {
    return status(file, format);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "Error: %s\n", e.what());
    return 1;
  }
}

}  // namespace ringkv::server
