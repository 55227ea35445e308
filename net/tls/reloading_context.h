// net/tls/reloading_context.h — the TLS context of one listener or dialer on one shard, made again from
// its files when they change on disk: certificate rotation without a restart (etcd re-reads its key
// pair at every handshake). current() is called before each new handshake; at most once per
// check_interval it stats the certificate, key, trusted CA and CRL files (inode, size, mtime) and, when
// one changed, builds a new SSL_CTX from them. Connections already open keep the context they were
// made with (their sessions hold it). A rebuild that fails (a half-written file, a key that does not
// match its certificate yet) is logged and the previous context goes on serving; it is tried again when
// the files change again. In-memory certificates (auto TLS) are never reloaded.
//
// One per shard (not thread-safe). stat() and the rebuild's file reads are blocking calls on the
// reactor: a few small local files, at most once per interval and once per change.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/tls/tls_context.h"

namespace ringkv::net::tls {

// A context and the settings it was made from.
struct tls_material {
  tls_settings settings;
  std::shared_ptr<const tls_context> context;
};

class reloading_context {
 public:
  static constexpr std::chrono::seconds check_interval{1};

  // `material.context` must have been made from `material.settings`. `what` names it in log lines.
  reloading_context(tls_material material, std::string what);

  // The context for a new handshake (never null).
  std::shared_ptr<const tls_context> current();
  uint64_t reloads() const { return reloads_; }

 private:
  struct file_stamp {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const file_stamp&) const = default;
  };
  std::vector<file_stamp> stamp_files() const;

  tls_settings settings_;
  std::shared_ptr<const tls_context> context_;
  std::string what_;
  std::vector<std::string> files_;   // empty: nothing to watch (in-memory key pair)
  std::vector<file_stamp> stamps_;   // of files_ when last built, or last tried
  std::chrono::steady_clock::time_point next_check_;
  uint64_t reloads_ = 0;
};

}  // namespace ringkv::net::tls
