// server/bootstrap/discovery_srv.cc — see discovery_srv.h.
#include "server/bootstrap/discovery_srv.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <algorithm>
#include <tuple>

#include "runtime/log.h"

namespace ringkv::server {
namespace {

inline constexpr size_t dns_answer_bytes_max = NS_MAXMSG;  // 65535: the largest DNS message

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
  ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
  return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

std::string join(const std::vector<std::string>& parts) {
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : "; ") + part;
  return text;
}

}  // namespace

std::optional<std::vector<srv_record>> lookup_srv(const std::string& name, std::string* error) {
  std::vector<unsigned char> answer(dns_answer_bytes_max);
  const int length = ::res_query(name.c_str(), ns_c_in, ns_t_srv, answer.data(), int(answer.size()));
  if (length < 0) {
    *error = "lookup " + name + ": " + ::hstrerror(h_errno);
    return std::nullopt;
  }
  ns_msg message;
  if (::ns_initparse(answer.data(), length, &message) < 0) {
    *error = "lookup " + name + ": the DNS answer is malformed";
    return std::nullopt;
  }
  std::vector<srv_record> records;
  for (int i = 0; i < ns_msg_count(message, ns_s_an); ++i) {
    ns_rr rr;
    if (::ns_parserr(&message, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7) continue;
    const unsigned char* data = ns_rr_rdata(rr);
    char target[NS_MAXDNAME];
    if (::dn_expand(ns_msg_base(message), ns_msg_end(message), data + 6, target, sizeof target) < 0) continue;
    srv_record record{uint16_t(ns_get16(data)), uint16_t(ns_get16(data + 2)), uint16_t(ns_get16(data + 4)), target};
    while (!record.target.empty() && record.target.back() == '.') record.target.pop_back();
    records.push_back(std::move(record));
  }
  if (records.empty()) {
    *error = "lookup " + name + ": no SRV records";
    return std::nullopt;
  }
  std::sort(records.begin(), records.end(), [](const srv_record& a, const srv_record& b) {
    return std::make_tuple(a.priority, -int(a.weight), a.target, a.port) <
           std::make_tuple(b.priority, -int(b.weight), b.target, b.port);
  });
  return records;
}

std::optional<std::string> resolve_tcp_address(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(port);
  if (::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found) != 0) return std::nullopt;
  std::optional<std::string> v4, v6;
  for (addrinfo* a = found; a; a = a->ai_next) {
    if (a->ai_family == AF_INET && !v4) v4 = address_text(a->ai_addr);
    if (a->ai_family == AF_INET6 && !v6) v6 = address_text(a->ai_addr);
  }
  ::freeaddrinfo(found);
  return v4 ? v4 : v6;
}

std::string add_srv_members(const std::string& scheme, const std::vector<srv_record>& records,
                            const server_config& config, const tcp_resolver& resolve, unsigned& next_name,
                            srv_cluster& cluster) {
  std::map<std::string, const url_endpoint*> advertised;  // resolved address:port -> this member's URL
  for (const auto& url : config.initial_advertise_peer_urls) {
    auto address = resolve(url.host, url.port);
    if (!address) return "cannot resolve --initial-advertise-peer-urls " + url.url;
    advertised[*address] = &url;
  }
  std::string problem = "no usable SRV record";
  size_t added = 0;
  for (const srv_record& record : records) {
    auto address = resolve(record.target, record.port);
    if (!address) {
      problem = "cannot resolve SRV target " + record.target + ":" + std::to_string(record.port);
      continue;
    }
    auto self = advertised.find(*address);
    if (self != advertised.end() && self->second->scheme != scheme) {
      problem = "bootstrap at " + scheme + "://" + record.target + ":" + std::to_string(record.port) +
                " from DNS has scheme mismatch with expected peer " + self->second->url;
      continue;
    }
    if (self != advertised.end()) cluster.members[config.name].push_back(self->second->url);
    else cluster.members[std::to_string(next_name++)].push_back(scheme + "://" + *address);
    ++added;
  }
  return added ? std::string() : problem;
}

srv_cluster srv_initial_cluster(const server_config& config) {
  const std::string suffix = config.discovery_srv_name.empty() ? "" : "-" + config.discovery_srv_name;
  srv_cluster cluster;
  unsigned next_name = 0;
  std::vector<std::string> failures;
  bool found_any = false;
  for (const auto& [service, scheme] : {std::pair<std::string, std::string>{"etcd-server-ssl", "https"},
                                        std::pair<std::string, std::string>{"etcd-server", "http"}}) {
    const std::string name = "_" + service + suffix + "._tcp." + config.discovery_srv;
    std::string problem;
    auto records = lookup_srv(name, &problem);
    if (records) problem = add_srv_members(scheme, *records, config, resolve_tcp_address, next_name, cluster);
    if (!problem.empty()) {
      failures.push_back("error querying DNS SRV records for _" + service + suffix + " " + problem);
      continue;
    }
    found_any = true;
    std::vector<std::string> found;
    for (const auto& [member, urls] : cluster.members)
      for (const auto& url : urls) found.push_back(member + "=" + url);
    log::info("get cluster for " + service + " SRV",
              {{"service-scheme", scheme}, {"service-name", service + suffix}, {"server-name", config.name},
               {"discovery-srv", config.discovery_srv}, {"found-cluster", found}});
  }
  if (!found_any) {
    cluster.error = join(failures);
    return cluster;
  }
  for (const auto& failure : failures) log::info("SRV lookup found nothing usable", {{"error", failure}});
  if (!cluster.members.count(config.name))
    cluster.error = "cannot find local etcd member \"" + config.name + "\" in SRV records";
  return cluster;
}

}  // namespace ringkv::server
