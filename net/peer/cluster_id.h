// Cluster and member identity for the peer transport: the 64-bit ids that every peer frame carries.
//
// member_id(name, peer_urls)       = xxh3-64 of  "ringkv-member\0" name "\0" url1 "\0" url2 ...
//                                    (peer URLs sorted, so their order on the command line does not matter)
// cluster_id(token, members)       = xxh3-64 of  "ringkv-cluster\0" token "\0" then, for every member
//                                    sorted by (name, sorted URLs): name "\0" url1 "\0" ... "\n"
// A result of 0 (raft's "nobody") is replaced by 1. Every field is followed by a separator that no name
// or URL contains, so different inputs never concatenate to the same text.
// Two members started with the same --initial-cluster-token and --initial-cluster therefore agree on the
// cluster id without talking; a member of another cluster (other token or other initial members) has a
// different id and its frames are rejected. Unlike etcd (sha1 of peer URLs + token), the member id here
// also covers the name, as the cluster issue asks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/tcp/endpoint.h"

namespace ringkv::net::peer {

struct initial_member {
  std::string name;
  std::vector<std::string> peer_urls;  // e.g. "http://127.0.0.1:2380"
};

uint64_t member_id(std::string_view name, std::vector<std::string> peer_urls);
uint64_t cluster_id(std::string_view initial_cluster_token, std::vector<initial_member> members);

// Parses etcd's --initial-cluster text "n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380,n1=http://..."
// (a name may repeat to give a member several URLs; members keep their first-appearance order).
// nullopt and `error` set when an item has no '=' or an empty name or URL.
std::optional<std::vector<initial_member>> parse_initial_cluster(std::string_view text, std::string* error);

// The TCP endpoint of a peer URL "http://127.0.0.1:2380" / "https://[::1]:2380" (no name resolution);
// nullopt if the URL is not scheme://address:port.
std::optional<endpoint> endpoint_of_peer_url(std::string_view url);

// The host of an https peer URL, as its listener's certificate must name it ("127.0.0.1", "::1",
// "node1.example"); "" for any other URL (dialed without TLS).
std::string tls_host_of_peer_url(std::string_view url);

}  // namespace ringkv::net::peer
