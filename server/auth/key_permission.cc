// server/auth/key_permission.cc — see key_permission.h. The granted ranges are sorted by their start and
// swept once: the covered prefix of the request grows until it reaches the request's end.
#include "server/auth/key_permission.h"

#include <algorithm>
#include <string>
#include <vector>

namespace ringkv::server::auth {
namespace {

// A half-open interval of keys; `open_end` = no end (every key from `begin`).
struct key_interval {
  std::string_view begin;
  std::string end;  // exclusive; unused when open_end
  bool open_end = false;
};

bool grants(authpb::Permission::Type type, access need) {
  if (type == authpb::Permission::READWRITE) return true;
  return need == access::read ? type == authpb::Permission::READ : type == authpb::Permission::WRITE;
}

key_interval interval_of(std::string_view key, std::string_view range_end) {
  if (range_end.empty()) return {key, std::string(key) + '\0', false};  // the key alone: [key, key\0)
  if (range_end == std::string_view("\0", 1)) return {key, {}, true};
  return {key, std::string(range_end), false};
}

}  // namespace

bool range_permitted(std::span<const authpb::Permission* const> permissions, std::string_view key,
                     std::string_view range_end, access need) {
  std::vector<key_interval> granted;
  for (const authpb::Permission* permission : permissions)
    if (grants(permission->permtype(), need)) granted.push_back(interval_of(permission->key(), permission->range_end()));
  std::sort(granted.begin(), granted.end(), [](const key_interval& a, const key_interval& b) { return a.begin < b.begin; });

  key_interval wanted = interval_of(key, range_end);
  if (!wanted.open_end && wanted.end <= wanted.begin) return true;  // an empty range asks for nothing
  std::string covered_to(wanted.begin);  // [wanted.begin, covered_to) is covered
  for (const key_interval& range : granted) {
    if (range.begin > covered_to) break;  // a gap at covered_to: nothing later starts before it
    if (range.open_end) return true;
    if (range.end > covered_to) covered_to = range.end;
    if (!wanted.open_end && covered_to >= wanted.end) return true;
  }
  return false;
}

}  // namespace ringkv::server::auth
