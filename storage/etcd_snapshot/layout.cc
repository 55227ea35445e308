// storage/etcd_snapshot/layout.cc: encodings of etcd 3.4's backend records (see layout.h): protobuf
// (mvccpb.KeyValue, leasepb.Lease), member JSON, big-endian ids and revision keys. Every parser
// bounds-checks its input and reports malformed bytes instead of reading past them.
#include "storage/etcd_snapshot/layout.h"

#include <cstdio>

#include "storage/mvcc/backend_encoding.h"

namespace ringkv::storage::etcd_snapshot {
namespace backend = mvcc::backend;
namespace {

// A protobuf wire reader: fields in order, unknown ones skipped.
class WireReader {
 public:
  explicit WireReader(std::string_view b) : b_(b) {}
  bool done() const { return pos_ == b_.size(); }
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= b_.size()) return false;
      auto c = static_cast<unsigned char>(b_[pos_++]);
      v |= uint64_t{c & 0x7fu} << shift;
      if (!(c & 0x80)) return true;
    }
    return false;
  }
  // The next field: its number, wire type and (for varints) value or (for bytes) contents.
  bool field(uint32_t& number, uint32_t& type, uint64_t& num, std::string_view& bytes) {
    uint64_t tag = 0;
    if (!varint(tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX) return false;
    number = static_cast<uint32_t>(tag >> 3);
    type = static_cast<uint32_t>(tag & 7);
    switch (type) {
      case 0: return varint(num);
      case 1: return skip(8);
      case 5: return skip(4);
      case 2: {
        uint64_t n = 0;
        if (!varint(n) || n > b_.size() - pos_) return false;
        bytes = b_.substr(pos_, n);
        pos_ += n;
        return true;
      }
      default: return false;
    }
  }

 private:
  bool skip(size_t n) {
    if (n > b_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  std::string_view b_;
  size_t pos_ = 0;
};

// Calls f(number, type, varint value, bytes) for every field; false when the bytes are malformed.
template <class F>
bool for_each_field(std::string_view bytes, F&& f) {
  WireReader r(bytes);
  while (!r.done()) {
    uint32_t number = 0, type = 0;
    uint64_t num = 0;
    std::string_view b;
    if (!r.field(number, type, num, b) || !f(number, type, num, b)) return false;
  }
  return true;
}

// Go's json.Marshal string: quotes, backslash, control characters and <, >, & escaped.
void append_go_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void append_string_list(std::string& out, const std::vector<std::string>& list) {
  out.push_back('[');
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_go_json_string(out, list[i]);
  }
  out.push_back(']');
}

// Just enough JSON for a member record: an object of strings, string arrays, numbers and booleans.
class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw snapshot_error("members bucket: bad member JSON (" + what + " at byte " + std::to_string(pos_) + ")");
  }
  void ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(char c) {
    ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  char peek() {
    ws();
    if (pos_ >= s_.size()) fail("unexpected end");
    return s_[pos_];
  }
  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'u': {
          if (s_.size() - pos_ < 4) fail("short \\u escape");
          unsigned v = 0;
          for (int i = 0; i < 4; ++i) {
            char h = s_[pos_++];
            v <<= 4;
            if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
            else fail("bad \\u escape");
          }
          if (v >= 0x80) fail("non-ASCII \\u escape");  // Go writes these only for control and HTML characters
          out.push_back(static_cast<char>(v));
          break;
        }
        default: out.push_back(e);
      }
    }
  }
  uint64_t number() {
    ws();
    uint64_t v = 0;
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      auto d = static_cast<uint64_t>(s_[pos_] - '0');
      if (v > (UINT64_MAX - d) / 10) fail("number too large");
      v = v * 10 + d;
      ++pos_;
    }
    if (pos_ == start) fail("expected a number");
    return v;
  }
  bool boolean() {
    ws();
    if (s_.substr(pos_, 4) == "true") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "false") {
      pos_ += 5;
      return false;
    }
    fail("expected true or false");
  }
  std::vector<std::string> string_list() {
    std::vector<std::string> out;
    if (peek() == 'n' && s_.substr(pos_, 4) == "null") {
      pos_ += 4;
      return out;
    }
    expect('[');
    if (eat(']')) return out;
    do out.push_back(string());
    while (eat(','));
    expect(']');
    return out;
  }
  void end() {
    ws();
    if (pos_ != s_.size()) fail("trailing bytes");
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::string member_key(uint64_t id) {
  char b[20];
  std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(id));
  return b;
}

std::optional<uint64_t> parse_member_key(std::string_view key) {
  if (key.empty() || key.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : key) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v |= static_cast<uint64_t>(c - 'a' + 10);
    else return std::nullopt;
  }
  return v;
}

std::string member_json(const Member& m) {
  std::string out = "{\"id\":" + std::to_string(m.id) + ",\"peerURLs\":";
  append_string_list(out, m.peer_urls);
  if (m.is_learner) out += ",\"isLearner\":true";
  if (!m.name.empty()) {
    out += ",\"name\":";
    append_go_json_string(out, m.name);
  }
  if (!m.client_urls.empty()) {
    out += ",\"clientURLs\":";
    append_string_list(out, m.client_urls);
  }
  out.push_back('}');
  return out;
}

Member parse_member_json(std::string_view json) {
  JsonReader r(json);
  Member m;
  r.expect('{');
  if (!r.eat('}')) {
    do {
      std::string field = r.string();
      r.expect(':');
      if (field == "id") m.id = r.number();
      else if (field == "name") m.name = r.string();
      else if (field == "peerURLs") m.peer_urls = r.string_list();
      else if (field == "clientURLs") m.client_urls = r.string_list();
      else if (field == "isLearner") m.is_learner = r.boolean();
      else r.fail("unknown field '" + field + "'");
    } while (r.eat(','));
    r.expect('}');
  }
  r.end();
  return m;
}

std::string be64(uint64_t v) {
  std::string out;
  backend::put_be64(out, v);
  return out;
}

std::optional<uint64_t> parse_be64(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  return backend::load_be64(bytes.data());
}

std::string lease_key(int64_t id) { return be64(static_cast<uint64_t>(id)); }

std::string lease_value(const LeaseValue& l) {
  std::string out;
  backend::put_int_field(out, 1, l.id);
  backend::put_int_field(out, 2, l.ttl_s);
  backend::put_int_field(out, 3, l.remaining_ttl_s);
  return out;
}

std::optional<LeaseValue> parse_lease_value(std::string_view bytes) {
  LeaseValue l;
  bool ok = for_each_field(bytes, [&](uint32_t number, uint32_t type, uint64_t num, std::string_view) {
    if (type != 0) return true;
    if (number == 1) l.id = static_cast<int64_t>(num);
    if (number == 2) l.ttl_s = static_cast<int64_t>(num);
    if (number == 3) l.remaining_ttl_s = static_cast<int64_t>(num);
    return true;
  });
  if (!ok) return std::nullopt;
  return l;
}

std::optional<mvcc::KeyValueView> parse_key_value(std::string_view bytes) {
  mvcc::KeyValueView kv;
  bool ok = for_each_field(bytes, [&](uint32_t number, uint32_t type, uint64_t num, std::string_view b) {
    bool bytes_field = number == 1 || number == 5;
    if (number >= 1 && number <= 6 && (type == 2) != bytes_field) return false;
    auto v = static_cast<int64_t>(num);
    switch (number) {
      case 1: kv.key = b; break;
      case 2: kv.create_revision = v; break;
      case 3: kv.mod_revision = v; break;
      case 4: kv.version = v; break;
      case 5: kv.value = b; break;
      case 6: kv.lease = v; break;
      default: break;
    }
    return true;
  });
  if (!ok) return std::nullopt;
  return kv;
}

std::optional<RevisionKey> parse_revision_key(std::string_view bytes) {
  bool tomb = bytes.size() == backend::revision_key_bytes + 1 && bytes.back() == backend::tombstone_mark;
  if (!(bytes.size() == backend::revision_key_bytes || tomb) || bytes[8] != '_') return std::nullopt;
  auto main = static_cast<int64_t>(backend::load_be64(bytes.data()));
  auto sub = static_cast<int64_t>(backend::load_be64(bytes.data() + 9));
  if (main < 0 || sub < 0) return std::nullopt;
  return RevisionKey{main, sub, tomb};
}

}  // namespace ringkv::storage::etcd_snapshot
