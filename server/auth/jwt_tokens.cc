// server/auth/jwt_tokens.cc — see jwt_tokens.h. The JSON written and read is what golang-jwt (etcd 3.4)
// writes: objects with sorted keys, strings escaped as Go's encoding/json does, numbers as integers.
#include "server/auth/jwt_tokens.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cassert>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace ringkv::server::auth {
namespace {

enum class family { rsa, pss, ec, hmac };

struct method {
  std::string_view name;
  family kind;
  const EVP_MD* (*digest)();
  int ec_bits;    // ES: the curve's size in bits (golang-jwt refuses another curve)
  size_t ec_half; // ES: bytes of r and of s in the signature
};

constexpr method methods[] = {
    {"RS256", family::rsa, EVP_sha256, 0, 0},  {"RS384", family::rsa, EVP_sha384, 0, 0},
    {"RS512", family::rsa, EVP_sha512, 0, 0},  {"PS256", family::pss, EVP_sha256, 0, 0},
    {"PS384", family::pss, EVP_sha384, 0, 0},  {"PS512", family::pss, EVP_sha512, 0, 0},
    {"ES256", family::ec, EVP_sha256, 256, 32}, {"ES384", family::ec, EVP_sha384, 384, 48},
    {"ES512", family::ec, EVP_sha512, 521, 66}, {"HS256", family::hmac, EVP_sha256, 0, 0},
    {"HS384", family::hmac, EVP_sha384, 0, 0}, {"HS512", family::hmac, EVP_sha512, 0, 0},
};

const method* find_method(std::string_view name) {
  for (const method& m : methods)
    if (m.name == name) return &m;
  return nullptr;
}

struct pkey_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
struct md_ctx_free {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

// ---- base64url without padding (RFC 7515) ----
constexpr std::string_view b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(b64[(v >> shift) & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | (rest == 2 ? uint32_t(uint8_t(bytes[i + 1])) << 8 : 0);
    out.push_back(b64[(v >> 18) & 63]);
    out.push_back(b64[(v >> 12) & 63]);
    if (rest == 2) out.push_back(b64[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> unbase64url(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);  // jwt-go accepts padded segments
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    size_t v = b64.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  return out;
}

// ---- JSON: Go's string escaping, and a reader for the flat objects JWT headers and claims are ----
void append_go_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(char(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else if (c == 0xe2 && i + 2 < text.size() && uint8_t(text[i + 1]) == 0x80 &&
               (uint8_t(text[i + 2]) == 0xa8 || uint8_t(text[i + 2]) == 0xa9)) {
      out += uint8_t(text[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out.push_back(char(c));
    }
  }
  out.push_back('"');
}

struct json_value {
  bool is_string = false;
  std::string text;  // a string's decoded text, or a number's (or literal's) spelling
};

class flat_json_reader {
 public:
  explicit flat_json_reader(std::string_view text) : text_(text) {}

  // Every member of a flat object (string, number or literal values); nullopt for anything else.
  std::optional<std::map<std::string, json_value, std::less<>>> object() {
    std::map<std::string, json_value, std::less<>> members;
    if (!take('{')) return std::nullopt;
    if (take('}')) return finished(std::move(members));
    do {
      auto name = string();
      if (!name || !take(':')) return std::nullopt;
      json_value value;
      space();
      if (pos_ < text_.size() && text_[pos_] == '"') {
        auto s = string();
        if (!s) return std::nullopt;
        value = {true, std::move(*s)};
      } else {
        size_t start = pos_;
        while (pos_ < text_.size() && (std::isalnum(uint8_t(text_[pos_])) || text_[pos_] == '+' || text_[pos_] == '-' || text_[pos_] == '.')) ++pos_;
        if (pos_ == start) return std::nullopt;
        value.text = std::string(text_.substr(start, pos_ - start));
      }
      members[std::move(*name)] = std::move(value);
    } while (take(','));
    if (!take('}')) return std::nullopt;
    return finished(std::move(members));
  }

 private:
  template <typename T>
  std::optional<T> finished(T value) {
    space();
    if (pos_ != text_.size()) return std::nullopt;
    return value;
  }
  void space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r' || text_[pos_] == '\n')) ++pos_;
  }
  bool take(char c) {
    space();
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  std::optional<uint32_t> hex4() {
    if (pos_ + 4 > text_.size()) return std::nullopt;
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, v, 16);
    if (ec != std::errc() || end != text_.data() + pos_ + 4) return std::nullopt;
    pos_ += 4;
    return v;
  }
  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(char(cp));
    } else if (cp < 0x800) {
      out.push_back(char(0xc0 | (cp >> 6)));
      out.push_back(char(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(char(0xe0 | (cp >> 12)));
      out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(char(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(char(0xf0 | (cp >> 18)));
      out.push_back(char(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(char(0x80 | (cp & 0x3f)));
    }
  }
  std::optional<std::string> string() {
    if (!take('"')) return std::nullopt;
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (uint8_t(c) < 0x20) return std::nullopt;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return std::nullopt;
      char e = text_[pos_++];
      switch (e) {
        case '"': case '\\': case '/': out.push_back(e); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          auto cp = hex4();
          if (!cp) return std::nullopt;
          if (*cp >= 0xd800 && *cp < 0xdc00 && text_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            auto low = hex4();
            if (!low || *low < 0xdc00 || *low >= 0xe000) return std::nullopt;
            *cp = 0x10000 + ((*cp - 0xd800) << 10) + (*low - 0xdc00);
          }
          append_utf8(out, *cp);
          break;
        }
        default: return std::nullopt;
      }
    }
    return std::nullopt;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// A JSON number that is a whole value (etcd's claims are float64 in jwt-go: 1e3 is 1000).
std::optional<double> json_number(const json_value& value) {
  if (value.is_string) return std::nullopt;
  double number = 0;
  const char* end = value.text.data() + value.text.size();
  auto [stop, ec] = std::from_chars(value.text.data(), end, number);
  if (ec != std::errc() || stop != end) return std::nullopt;
  return number;
}

// ---- keys ----
struct read_result {
  std::string bytes;
  std::string error;
};

read_result read_key_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::string reason = std::strerror(errno);
    if (!reason.empty()) reason[0] = char(std::tolower(uint8_t(reason[0])));
    return {{}, "open " + path + ": " + reason};  // Go's os error text
  }
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return {bytes.str(), {}};
}

pkey_ptr parse_private_pem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())), BIO_free);
  return pkey_ptr(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

// A "PUBLIC KEY" (PKIX) block or a certificate's key, as jwt-go's Parse*PublicKeyFromPEM.
pkey_ptr parse_public_pem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())), BIO_free);
  if (!bio) return nullptr;
  if (EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)) return pkey_ptr(key);
  std::unique_ptr<BIO, decltype(&BIO_free)> again(BIO_new_mem_buf(pem.data(), int(pem.size())), BIO_free);
  if (!again) return nullptr;
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(again.get(), nullptr, nullptr, nullptr), X509_free);
  return pkey_ptr(cert ? X509_get_pubkey(cert.get()) : nullptr);
}

bool key_fits(const method& m, EVP_PKEY* key) {
  switch (m.kind) {
    case family::rsa: return EVP_PKEY_is_a(key, "RSA");
    case family::pss: return EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS");
    case family::ec: return EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == m.ec_bits;
    case family::hmac: return false;
  }
  return false;
}

std::string key_kind_name(const method& m) { return m.kind == family::ec ? "ECDSA" : "RSA"; }

}  // namespace

struct jwt_tokens::keys {
  const method* how = nullptr;
  pkey_ptr signing;    // the private key; null when verify-only (and for HMAC)
  pkey_ptr verifying;  // the public key, else the private key
  std::string hmac_secret;
  int64_t ttl_s = 300;
  std::string header_b64;  // base64url({"alg":"...","typ":"JWT"})
};

jwt_tokens::jwt_tokens(std::unique_ptr<keys> parsed) : keys_(std::move(parsed)) {}
jwt_tokens::~jwt_tokens() = default;
jwt_tokens::jwt_tokens(jwt_tokens&&) noexcept = default;
jwt_tokens& jwt_tokens::operator=(jwt_tokens&&) noexcept = default;

jwt_tokens::loaded jwt_tokens::load(const jwt_token_options& options) {
  const method* how = find_method(options.sign_method);
  if (how == nullptr) return {std::nullopt, "auth: invalid auth signature method"};
  auto parsed = std::make_unique<keys>();
  parsed->how = how;
  parsed->ttl_s = std::chrono::duration_cast<std::chrono::seconds>(options.ttl).count();
  parsed->header_b64 = base64url("{\"alg\":\"" + std::string(how->name) + "\",\"typ\":\"JWT\"}");
  read_result pub, priv;
  if (!options.public_key_file.empty() && !(pub = read_key_file(options.public_key_file)).error.empty())
    return {std::nullopt, pub.error};
  if (!options.private_key_file.empty() && !(priv = read_key_file(options.private_key_file)).error.empty())
    return {std::nullopt, priv.error};
  if (how->kind == family::hmac) {  // etcd: the private key file's bytes are the secret
    if (priv.bytes.empty()) return {std::nullopt, "auth: missing key data"};
    parsed->hmac_secret = std::move(priv.bytes);
    return {jwt_tokens(std::move(parsed)), {}};
  }
  if (!priv.bytes.empty()) {
    parsed->signing = parse_private_pem(priv.bytes);
    if (!parsed->signing || !key_fits(*how, parsed->signing.get()))
      return {std::nullopt, "key is not a valid " + key_kind_name(*how) + " private key"};
  }
  if (!pub.bytes.empty()) {
    parsed->verifying = parse_public_pem(pub.bytes);
    if (!parsed->verifying || !key_fits(*how, parsed->verifying.get()))
      return {std::nullopt, "key is not a valid " + key_kind_name(*how) + " public key"};
  }
  if (!parsed->signing && !parsed->verifying) return {std::nullopt, "auth: missing key data"};
  if (parsed->signing && parsed->verifying && EVP_PKEY_eq(parsed->signing.get(), parsed->verifying.get()) != 1)
    return {std::nullopt, "auth: public and private keys don't match"};
  if (!parsed->verifying) {
    EVP_PKEY_up_ref(parsed->signing.get());
    parsed->verifying.reset(parsed->signing.get());
  }
  return {jwt_tokens(std::move(parsed)), {}};
}

bool jwt_tokens::verify_only() const { return keys_->how->kind != family::hmac && !keys_->signing; }

std::optional<std::string> jwt_tokens::sign(std::string_view user, uint64_t auth_revision, int64_t now_s) const {
  if (verify_only()) return std::nullopt;
  const method& how = *keys_->how;
  std::string claims = "{\"exp\":" + std::to_string(now_s + keys_->ttl_s) + ",\"revision\":" +
                       std::to_string(auth_revision) + ",\"username\":";
  append_go_json_string(claims, user);
  claims.push_back('}');
  std::string signed_part = keys_->header_b64 + "." + base64url(claims);
  std::string signature;
  if (how.kind == family::hmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(how.digest(), keys_->hmac_secret.data(), int(keys_->hmac_secret.size()),
              reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &mac_len))
      return std::nullopt;
    signature.assign(reinterpret_cast<const char*>(mac), mac_len);
  } else {
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, how.digest(), nullptr, keys_->signing.get()) != 1) return std::nullopt;
    if (how.kind == family::pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                                    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
      return std::nullopt;
    size_t length = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(signed_part.data());
    if (EVP_DigestSign(ctx.get(), nullptr, &length, data, signed_part.size()) != 1) return std::nullopt;
    std::string der(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &length, data, signed_part.size()) != 1)
      return std::nullopt;
    der.resize(length);
    if (how.kind != family::ec) {
      signature = std::move(der);
    } else {  // DER (r, s) -> r || s, each padded to the curve's size (RFC 7518 3.4)
      const auto* p = reinterpret_cast<const unsigned char*>(der.data());
      std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(d2i_ECDSA_SIG(nullptr, &p, long(der.size())), ECDSA_SIG_free);
      if (!sig) return std::nullopt;
      signature.assign(2 * how.ec_half, '\0');
      auto* out = reinterpret_cast<unsigned char*>(signature.data());
      if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, int(how.ec_half)) < 0 ||
          BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + how.ec_half, int(how.ec_half)) < 0)
        return std::nullopt;
    }
  }
  return signed_part + "." + base64url(signature);
}

std::optional<jwt_tokens::identity> jwt_tokens::verify(std::string_view token, int64_t now_s) {
  if (token.size() > token_bytes_max) return std::nullopt;
  auto known = verified_.find(std::string(token));
  if (known == verified_.end()) {
    auto fresh = verify_signed(token);
    if (!fresh) return std::nullopt;
    if (verified_.size() >= verified_max) verified_.clear();
    known = verified_.emplace(std::string(token), remembered{std::move(fresh->first), fresh->second}).first;
  }
  if (now_s > known->second.expires_s) {  // jwt-go: valid while now <= exp
    verified_.erase(known);
    return std::nullopt;
  }
  return known->second.who;
}

std::optional<std::pair<jwt_tokens::identity, int64_t>> jwt_tokens::verify_signed(std::string_view token) const {
  const method& how = *keys_->how;
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  std::string_view signed_part = token.substr(0, second);
  auto header = unbase64url(token.substr(0, first));
  auto claims = unbase64url(token.substr(first + 1, second - first - 1));
  auto signature = unbase64url(token.substr(second + 1));
  if (!header || !claims || !signature) return std::nullopt;
  auto header_fields = flat_json_reader(*header).object();
  if (!header_fields) return std::nullopt;
  auto alg = header_fields->find("alg");
  if (alg == header_fields->end() || !alg->second.is_string || alg->second.text != how.name) return std::nullopt;

  const auto* data = reinterpret_cast<const unsigned char*>(signed_part.data());
  if (how.kind == family::hmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(how.digest(), keys_->hmac_secret.data(), int(keys_->hmac_secret.size()), data, signed_part.size(), mac,
              &mac_len) ||
        mac_len != signature->size() || CRYPTO_memcmp(mac, signature->data(), mac_len) != 0)
      return std::nullopt;
  } else {
    std::string der;
    if (how.kind == family::ec) {  // r || s -> DER, as OpenSSL verifies it
      if (signature->size() != 2 * how.ec_half) return std::nullopt;
      const auto* raw = reinterpret_cast<const unsigned char*>(signature->data());
      std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
      BIGNUM* r = BN_bin2bn(raw, int(how.ec_half), nullptr);
      BIGNUM* s = BN_bin2bn(raw + how.ec_half, int(how.ec_half), nullptr);
      if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return std::nullopt;
      }
      int length = i2d_ECDSA_SIG(sig.get(), nullptr);
      if (length <= 0) return std::nullopt;
      der.resize(size_t(length));
      auto* out = reinterpret_cast<unsigned char*>(der.data());
      i2d_ECDSA_SIG(sig.get(), &out);
    } else {
      der = std::move(*signature);
    }
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, how.digest(), nullptr, keys_->verifying.get()) != 1)
      return std::nullopt;
    if (how.kind == family::pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                                    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1))
      return std::nullopt;
    if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(), data,
                         signed_part.size()) != 1)
      return std::nullopt;
  }

  auto fields = flat_json_reader(*claims).object();
  if (!fields) return std::nullopt;
  auto user = fields->find("username");
  auto revision = fields->find("revision");
  auto exp = fields->find("exp");
  if (user == fields->end() || !user->second.is_string || revision == fields->end() || exp == fields->end())
    return std::nullopt;
  auto revision_number = json_number(revision->second);
  auto exp_number = json_number(exp->second);
  if (!revision_number || !exp_number || *revision_number < 1 || *revision_number > 9.0e18 || *exp_number > 9.0e18 ||
      *exp_number < -9.0e18)
    return std::nullopt;
  return std::pair{identity{user->second.text, uint64_t(*revision_number)}, int64_t(*exp_number)};
}

}  // namespace ringkv::server::auth
