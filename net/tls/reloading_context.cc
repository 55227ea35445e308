// net/tls/reloading_context.cc — see reloading_context.h.
#include "net/tls/reloading_context.h"

#include <sys/stat.h>

#include <cassert>

#include "runtime/log.h"

namespace ringkv::net::tls {

reloading_context::reloading_context(tls_material material, std::string what)
    : settings_(std::move(material.settings)), context_(std::move(material.context)), what_(std::move(what)) {
  assert(context_);
  if (!settings_.cert_file.empty()) {
    for (const std::string* file : {&settings_.cert_file, &settings_.key_file, &settings_.trusted_ca_file, &settings_.crl_file})
      if (!file->empty()) files_.push_back(*file);
  }
  stamps_ = stamp_files();
  next_check_ = std::chrono::steady_clock::now() + check_interval;
}

std::vector<reloading_context::file_stamp> reloading_context::stamp_files() const {
  std::vector<file_stamp> stamps;
  stamps.reserve(files_.size());
  for (const auto& file : files_) {
    file_stamp stamp;
    struct stat info {};
    if (::stat(file.c_str(), &info) == 0) {
      stamp = {true, info.st_dev, info.st_ino, info.st_size,
               int64_t(info.st_mtim.tv_sec) * 1'000'000'000 + int64_t(info.st_mtim.tv_nsec)};
    }
    stamps.push_back(stamp);
  }
  return stamps;
}

std::shared_ptr<const tls_context> reloading_context::current() {
  if (files_.empty()) return context_;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return context_;
  next_check_ = now + check_interval;
  std::vector<file_stamp> stamps = stamp_files();
  if (stamps == stamps_) return context_;
  stamps_ = std::move(stamps);
  std::string error;
  auto rebuilt = tls_context::make(settings_, error);
  if (!rebuilt) {
    log::warn("TLS files changed but cannot be loaded; still serving the previous certificate",
              {{"tls", what_}, {"error", error}});
    return context_;
  }
  context_ = std::move(rebuilt);
  ++reloads_;
  log::info("TLS files changed; new connections use the new certificate", {{"tls", what_}, {"cert-file", settings_.cert_file}});
  return context_;
}

}  // namespace ringkv::net::tls
