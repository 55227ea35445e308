// net/tls/cipher_suites.h — etcd's --cipher-suites names (Go's crypto/tls constants, as etcd 3.4's
// pkg/tlsutil lists them) and the OpenSSL cipher each one is. They choose TLS 1.2 ciphers only; TLS 1.3
// keeps OpenSSL's own suites, as Go keeps its own.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::net::tls {

// The OpenSSL name of a Go cipher suite name, or nullopt when etcd 3.4 does not know the name.
std::optional<std::string_view> openssl_cipher_name(std::string_view go_name);

// "A:B:C" for SSL_CTX_set_cipher_list, or nullopt with `unknown` set to the first unknown name.
std::optional<std::string> openssl_cipher_list(const std::vector<std::string>& go_names, std::string& unknown);

}  // namespace ringkv::net::tls
