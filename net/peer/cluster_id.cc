// Cluster id / member id derivation and --initial-cluster parsing (see cluster_id.h for the formulas).
#include "net/peer/cluster_id.h"

#include <xxhash.h>

#include <algorithm>
#include <tuple>

namespace ringkv::net::peer {

namespace {

uint64_t nonzero(uint64_t id) { return id == 0 ? 1 : id; }

void append_field(std::string& text, std::string_view field, char separator) {
  text.append(field);
  text.push_back(separator);
}

}  // namespace

uint64_t member_id(std::string_view name, std::vector<std::string> peer_urls) {
  std::sort(peer_urls.begin(), peer_urls.end());
  std::string text;
  append_field(text, "ringkv-member", '\0');
  append_field(text, name, '\0');
  for (const std::string& url : peer_urls) append_field(text, url, '\0');
  return nonzero(XXH3_64bits(text.data(), text.size()));
}

uint64_t cluster_id(std::string_view initial_cluster_token, std::vector<initial_member> members) {
  for (initial_member& m : members) std::sort(m.peer_urls.begin(), m.peer_urls.end());
  std::sort(members.begin(), members.end(), [](const initial_member& a, const initial_member& b) {
    return std::tie(a.name, a.peer_urls) < std::tie(b.name, b.peer_urls);
  });
  std::string text;
  append_field(text, "ringkv-cluster", '\0');
  append_field(text, initial_cluster_token, '\0');
  for (const initial_member& m : members) {
    append_field(text, m.name, '\0');
    for (const std::string& url : m.peer_urls) append_field(text, url, '\0');
    text.push_back('\n');
  }
  return nonzero(XXH3_64bits(text.data(), text.size()));
}

std::optional<std::vector<initial_member>> parse_initial_cluster(std::string_view text, std::string* error) {
  std::vector<initial_member> members;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const size_t equals = item.find('=');
    if (equals == std::string_view::npos || equals == 0 || equals + 1 == item.size()) {
      *error = "--initial-cluster item '" + std::string(item) + "' is not name=url";
      return std::nullopt;
    }
    const std::string_view name = item.substr(0, equals);
    auto same = std::find_if(members.begin(), members.end(), [&](const initial_member& m) { return m.name == name; });
    if (same == members.end()) same = members.insert(members.end(), initial_member{std::string(name), {}});
    same->peer_urls.emplace_back(item.substr(equals + 1));
  }
  if (members.empty()) {
    *error = "--initial-cluster is empty";
    return std::nullopt;
  }
  return members;
}

std::optional<endpoint> endpoint_of_peer_url(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return std::nullopt;
  std::string_view rest = url.substr(scheme_end + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  return endpoint::parse(rest);
}

std::string tls_host_of_peer_url(std::string_view url) {
  constexpr std::string_view https = "https://";
  if (url.substr(0, https.size()) != https) return "";
  std::string_view rest = url.substr(https.size());
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    return close == std::string_view::npos ? "" : std::string(rest.substr(1, close - 1));
  }
  return std::string(rest.substr(0, rest.rfind(':')));
}

}  // namespace ringkv::net::peer
