// net/tls/self_signed.h — a self-signed certificate for --auto-tls, made at start-up as etcd 3.4's
// transport.SelfCert makes it: an ECDSA P-256 key, organization "etcd", valid for a year, usable for
// server and client authentication, with every listen host as a subject alternative name (an IP
// address, or a DNS name otherwise). ringkv keeps it in memory only (etcd writes it to
// <data-dir>/fixtures/client/): nothing is added to the data dir.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ringkv::net::tls {

struct pem_key_pair {
  std::string cert_pem;
  std::string key_pem;
};

inline constexpr std::chrono::hours self_signed_validity{365 * 24};

// The pair, or nullopt with `error` set.
std::optional<pem_key_pair> make_self_signed(const std::vector<std::string>& hosts, std::string& error);

}  // namespace ringkv::net::tls
