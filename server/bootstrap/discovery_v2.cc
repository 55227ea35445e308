// server/bootstrap/discovery_v2.cc — see discovery_v2.h.
#include "server/bootstrap/discovery_v2.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <thread>

#include "runtime/log.h"
#include "server/bootstrap/blocking_http.h"

namespace ringkv::server {
namespace {

namespace pb = google::protobuf;

// After a long poll answered with an error instead of an event, before the members are read again.
constexpr std::chrono::milliseconds wait_error_pause{1000};

std::string_view base_name(std::string_view key) {
  const size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? key : key.substr(slash + 1);
}

const pb::Value* field_of(const pb::Struct& object, const char* name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

// A JSON number (etcd writes indexes as numbers; below 2^53, exact as a double).
uint64_t number_of(const pb::Struct& object, const char* name) {
  const pb::Value* value = field_of(object, name);
  if (!value || value->kind_case() != pb::Value::kNumberValue || value->number_value() < 0) return 0;
  return uint64_t(value->number_value());
}

std::string string_of(const pb::Struct& object, const char* name) {
  const pb::Value* value = field_of(object, name);
  return value && value->kind_case() == pb::Value::kStringValue ? value->string_value() : std::string();
}

// What one request to the service gave: an answer of the v2 keys API, or a failure worth a retry.
struct exchange {
  std::optional<v2_answer> answer;
  uint64_t etcd_index = 0;        // X-Etcd-Index
  bool unreachable = false;       // no answer, or HTTP 500/503: retried (etcd's ClusterError)
  bool timed_out = false;         // a long poll that saw nothing
  discovery_error error = discovery_error::none;
  std::string detail;
};

class discovery_session {
 public:
  explicit discovery_session(const discovery_settings& settings) : settings_(settings) {}

  discovery_outcome join() {
    std::string problem;
    auto url = parse_http_url(settings_.url, &problem);
    if (!url) return {discovery_error::invalid_url, problem, {}};
    base_ = *url;
    const size_t query = base_.target.find('?');
    if (query != std::string::npos) base_.target.resize(query);  // etcd keeps only the URL's path
    while (base_.target.size() > 1 && base_.target.back() == '/') base_.target.pop_back();
    if (!settings_.proxy.empty()) {
      // etcd: "host:port" is read as "http://host:port".
      const bool has_scheme = settings_.proxy.find("://") != std::string::npos;
      proxy_ = parse_http_url(has_scheme ? settings_.proxy : "http://" + settings_.proxy, &problem);
      if (!proxy_) return {discovery_error::other, "invalid --discovery-proxy: " + problem, {}};
      log::info("running proxy with discovery", {{"proxy-url", proxy_->text()}});
    }
    self_hex_ = log::hex_id_text(settings_.member_id);

    if (auto checked = check_cluster(); checked.error != discovery_error::none) return {checked.error, checked.detail, {}};
    if (auto created = create_self(); created.error != discovery_error::none) return created;
    auto checked = check_cluster();
    if (checked.error != discovery_error::none) return {checked.error, checked.detail, {}};
    while (checked.nodes.size() < checked.size) {
      log::info("found peers from discovery server; waiting for more",
                {{"discovery-url", settings_.url}, {"found-peers", uint64_t(checked.nodes.size())},
                 {"needed-peers", checked.size - uint64_t(checked.nodes.size())}});
      if (auto waited = wait_for_change(checked.index); waited.error != discovery_error::none)
        return {waited.error, waited.detail, {}};
      checked = check_cluster();
      if (checked.error != discovery_error::none) return {checked.error, checked.detail, {}};
    }
    log::info("found all needed peers from discovery server",
              {{"discovery-url", settings_.url}, {"found-peers", checked.size}});
    return nodes_to_cluster(checked.nodes, checked.size);
  }

 private:
  struct cluster_state {
    discovery_error error = discovery_error::none;
    std::string detail;
    std::vector<discovery_node> nodes;
    uint64_t size = 0;
    uint64_t index = 0;
  };

  http_url at(const std::string& suffix, const std::string& query = {}) const {
    http_url url = base_;
    url.target = (base_.target == "/" ? "" : base_.target) + suffix;
    if (url.target.empty()) url.target = "/";
    if (!query.empty()) url.target += "?" + query;
    return url;
  }

  exchange call(const std::string& method, http_url url, std::string body, std::chrono::milliseconds timeout) {
    http_request request;
    request.method = method;
    request.url = std::move(url);
    request.body = std::move(body);
    request.proxy = proxy_;
    request.connect_timeout = settings_.connect_timeout;
    request.response_timeout = timeout;
    http_outcome outcome = send_http_request(request);
    exchange result;
    if (!outcome.response) {
      result.unreachable = true;
      result.timed_out = outcome.timed_out;
      result.detail = outcome.error;
      return result;
    }
    const http_response& response = *outcome.response;
    if (response.status == 500 || response.status == 503) {
      result.unreachable = true;
      result.detail = "HTTP " + std::to_string(response.status) + " from the discovery service";
      return result;
    }
    if (auto index = response.headers.find("x-etcd-index"); index != response.headers.end())
      std::from_chars(index->second.data(), index->second.data() + index->second.size(), result.etcd_index);
    result.answer = parse_v2_answer(response.body);
    if (!result.answer) {
      result.error = discovery_error::bad_endpoint;
      result.detail = "HTTP " + std::to_string(response.status) + ": " + response.body.substr(0, 200);
    }
    return result;
  }

  // etcd's retry: 2^retries seconds (retries capped at backoff_exponent_max), at most retries_max times.
  bool back_off(const char* step, const std::string& why) {
    if (retries_ >= settings_.retries_max) return false;
    ++retries_;
    const unsigned exponent = std::min<uint32_t>(retries_, settings_.backoff_exponent_max);
    const std::chrono::seconds backoff(uint64_t{1} << exponent);
    log::info("retry connecting to discovery service",
              {{"url", settings_.url}, {"reason", step}, {"error", why}, {"backoff-seconds", uint64_t(backoff.count())}});
    std::this_thread::sleep_for(backoff);
    return true;
  }

  cluster_state check_cluster() {
    for (;;) {
      cluster_state state;
      exchange size = call("GET", at("/_config/size"), {}, settings_.request_timeout);
      if (size.unreachable) {
        log::warn("failed to get from discovery server", {{"discovery-url", settings_.url},
                                                          {"path", at("/_config/size").target}, {"error", size.detail}});
        if (back_off("cluster status check", size.detail)) continue;
        return {discovery_error::too_many_retries, size.detail, {}, 0, 0};
      }
      if (size.error != discovery_error::none) return {size.error, size.detail, {}, 0, 0};
      if (size.answer->error_code == 100) return {discovery_error::size_not_found, size.answer->message, {}, 0, 0};
      if (size.answer->error_code != 0)
        return {discovery_error::other, "discovery service: " + size.answer->message, {}, 0, 0};
      const std::string& text = size.answer->value;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), state.size);
      if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || state.size == 0)
        return {discovery_error::bad_size_key, "size is '" + text + "'", {}, 0, 0};

      exchange members = call("GET", at(""), {}, settings_.request_timeout);
      if (members.unreachable) {
        log::warn("failed to get from discovery server",
                  {{"discovery-url", settings_.url}, {"path", at("").target}, {"error", members.detail}});
        if (back_off("cluster status check", members.detail)) continue;
        return {discovery_error::too_many_retries, members.detail, {}, 0, 0};
      }
      if (members.error != discovery_error::none) return {members.error, members.detail, {}, 0, 0};
      if (members.answer->error_code != 0)
        return {discovery_error::other, "discovery service: " + members.answer->message, {}, 0, 0};
      state.nodes = std::move(members.answer->nodes);
      state.index = members.etcd_index;
      if (state.index == 0)  // no X-Etcd-Index: watch from the newest member seen
        for (const auto& node : state.nodes) state.index = std::max(state.index, node.created_index);
      if (cluster_is_full_without(state.nodes, state.size, self_hex_)) {
        state.error = discovery_error::full_cluster;
        state.detail = std::to_string(state.size) + " members registered already";
      } else if (state.nodes.size() > state.size) {
        state.nodes.resize(state.size);  // etcd's waitNodes: the first `size` only
      }
      return state;
    }
  }

  discovery_outcome create_self() {
    exchange created = call("PUT", at("/" + self_hex_, "prevExist=false"), "value=" + form_escape(settings_.self),
                            settings_.request_timeout);
    if (created.unreachable) return {discovery_error::other, created.detail, {}};  // etcd does not retry this one
    if (created.error != discovery_error::none) return {created.error, created.detail, {}};
    if (created.answer->error_code == 105) return {discovery_error::duplicate_id, created.answer->message, {}};
    if (created.answer->error_code != 0)
      return {discovery_error::other, "discovery service: " + created.answer->message, {}};
    log::info("registered with discovery server",
              {{"discovery-url", settings_.url}, {"self", self_hex_}, {"value", settings_.self}});
    return {};
  }

  // One long poll for any change under the token after `index`. A poll that sees nothing before
  // wait_poll is no failure: the members are read again.
  cluster_state wait_for_change(uint64_t index) {
    exchange change = call("GET", at("", "wait=true&recursive=true&waitIndex=" + std::to_string(index + 1)), {},
                           settings_.wait_poll);
    // An event, a cleared index (etcd's 401) or a poll that saw nothing: the caller reads the members again.
    if (change.unreachable && !change.timed_out && !back_off("waiting for other nodes", change.detail))
      return {discovery_error::too_many_retries, change.detail, {}, 0, 0};
    // An answer that is no event must not turn the wait into a busy loop against the service.
    if (!change.unreachable && (!change.answer || change.answer->error_code != 0)) std::this_thread::sleep_for(wait_error_pause);
    return {};
  }

  const discovery_settings& settings_;
  http_url base_;
  std::optional<http_url> proxy_;
  std::string self_hex_;
  uint32_t retries_ = 0;
};

// Splits "a,b,c" (empty items kept: they are invalid URLs).
std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> items;
  for (;;) {
    const size_t comma = text.find(',');
    items.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) return items;
    text.remove_prefix(comma + 1);
  }
}

// etcd's types.NewURLsMap accepts name=scheme://host:port with scheme http or https (unix sockets aside).
bool valid_member_url(std::string_view url) {
  std::string_view rest;
  if (url.substr(0, 7) == "http://") rest = url.substr(7);
  else if (url.substr(0, 8) == "https://") rest = url.substr(8);
  else return false;
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) return false;
  if (rest.find('/') != std::string_view::npos) return false;
  unsigned port = 0;
  std::string_view port_text = rest.substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  return ec == std::errc{} && end == port_text.data() + port_text.size() && port <= 65535;
}

}  // namespace

const char* discovery_error_text(discovery_error error) {
  switch (error) {
    case discovery_error::none: return "";
    case discovery_error::invalid_url: return "discovery: invalid URL";
    case discovery_error::bad_size_key: return "discovery: size key is bad";
    case discovery_error::size_not_found: return "discovery: size key not found";
    case discovery_error::duplicate_id: return "discovery: found duplicate id";
    case discovery_error::duplicate_name: return "discovery: found duplicate name";
    case discovery_error::full_cluster: return "discovery: cluster is full";
    case discovery_error::too_many_retries: return "discovery: too many retries";
    case discovery_error::bad_endpoint: return "discovery: bad discovery endpoint";
    case discovery_error::other: return "discovery failed";
  }
  return "discovery failed";
}

std::optional<v2_answer> parse_v2_answer(std::string_view body) {
  pb::Struct root;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!pb::util::JsonStringToMessage(std::string(body), &root, options).ok()) return std::nullopt;
  v2_answer answer;
  if (field_of(root, "errorCode")) {
    answer.error_code = int(number_of(root, "errorCode"));
    answer.message = string_of(root, "message");
    if (answer.error_code == 0) return std::nullopt;
    return answer;
  }
  const pb::Value* node = field_of(root, "node");
  if (!node || node->kind_case() != pb::Value::kStructValue) return std::nullopt;
  answer.value = string_of(node->struct_value(), "value");
  if (const pb::Value* nodes = field_of(node->struct_value(), "nodes")) {
    if (nodes->kind_case() != pb::Value::kListValue) return std::nullopt;
    for (const pb::Value& item : nodes->list_value().values()) {
      if (item.kind_case() != pb::Value::kStructValue) return std::nullopt;
      discovery_node child{string_of(item.struct_value(), "key"), string_of(item.struct_value(), "value"),
                           number_of(item.struct_value(), "createdIndex")};
      if (base_name(child.key) == "_config") continue;
      answer.nodes.push_back(std::move(child));
    }
  }
  std::stable_sort(answer.nodes.begin(), answer.nodes.end(),
                   [](const discovery_node& a, const discovery_node& b) { return a.created_index < b.created_index; });
  return answer;
}

bool cluster_is_full_without(const std::vector<discovery_node>& nodes, uint64_t size, std::string_view self_id_hex) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (base_name(nodes[i].key) == self_id_hex) return false;
    if (i + 1 >= size) return true;
  }
  return false;
}

discovery_outcome nodes_to_cluster(const std::vector<discovery_node>& nodes, uint64_t size) {
  discovery_outcome outcome;
  std::set<std::string_view> names;
  for (size_t i = 0; i < nodes.size() && i < size; ++i) {
    outcome.initial_cluster += (i ? "," : "") + nodes[i].value;
    for (std::string_view item : split_commas(nodes[i].value)) {
      const size_t equals = item.find('=');
      if (equals == std::string_view::npos || equals == 0 || !valid_member_url(item.substr(equals + 1))) {
        outcome.error = discovery_error::invalid_url;
        outcome.detail = "registered value '" + nodes[i].value + "'";
        return outcome;
      }
      names.insert(item.substr(0, equals));
    }
  }
  if (names.size() != size) {
    outcome.error = discovery_error::duplicate_name;
    outcome.detail = outcome.initial_cluster;
  }
  return outcome;
}

discovery_outcome join_discovery_cluster(const discovery_settings& settings) {
  return discovery_session(settings).join();
}

}  // namespace ringkv::server
