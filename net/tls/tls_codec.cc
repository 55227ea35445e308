// net/tls/tls_codec.cc — see tls_codec.h. OpenSSL's error queue is per thread and shared by every
// session of the shard: it is cleared before each SSL call, so SSL_get_error reads only this call's.
#include "net/tls/tls_codec.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cassert>
#include <climits>
#include <new>

namespace ringkv::net::tls {

tls_codec::tls_codec(std::shared_ptr<const tls_context> context, const std::string& server_host)
    : context_(std::move(context)) {
  assert(context_);
  ssl_ = SSL_new(context_->native());
  wire_in_ = BIO_new(BIO_s_mem());
  wire_out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || wire_in_ == nullptr || wire_out_ == nullptr) throw std::bad_alloc();
  // An empty memory BIO reports "retry" rather than end of file: SSL_read then says WANT_READ.
  BIO_set_mem_eof_return(wire_in_, -1);
  SSL_set_bio(ssl_, wire_in_, wire_out_);  // ssl_ owns both now
  if (!context_->dialing()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (context_->verifies_server() && !server_host.empty() && !set_expected_host(ssl_, server_host))
    failure_ = "tls: cannot verify the server certificate for host " + server_host;
}

tls_codec::~tls_codec() { SSL_free(ssl_); }

void tls_codec::record_failure(int ssl_error) {
  if (failure_.empty()) {
    const long verdict = SSL_get_verify_result(ssl_);
    const unsigned long code = ERR_peek_last_error();
    if (verdict == X509_V_ERR_APPLICATION_VERIFICATION) {
      failure_ = context_->identity_refusal();
    } else if (verdict != X509_V_OK) {
      failure_ = std::string(context_->dialing() ? "tls: failed to verify server certificate: "
                                                 : "tls: failed to verify client certificate: ") +
                 X509_verify_cert_error_string(verdict);
    } else if (code != 0 && ERR_reason_error_string(code) != nullptr) {
      failure_ = std::string("tls: ") + ERR_reason_error_string(code);
    } else if (ssl_error == SSL_ERROR_SYSCALL) {
      failure_ = "tls: unexpected end of the stream";
    } else {
      failure_ = "tls: error " + std::to_string(ssl_error);
    }
  }
  ERR_clear_error();
}

tls_codec::handshake_step tls_codec::handshake() {
  if (!failure_.empty()) return handshake_step::failed;  // set up wrongly (constructor)
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) return handshake_step::done;
  const int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ) return handshake_step::need_wire;
  record_failure(error);
  return handshake_step::failed;
}

std::string tls_codec::client_common_name() const { return common_name_of(SSL_get0_peer_certificate(ssl_)); }

std::string tls_codec::check_client_san(const std::string& remote_ip) const {
  if (!context_->checks_client_san()) return "";
  return tls::check_client_san(SSL_get0_peer_certificate(ssl_), remote_ip);
}

std::string tls_codec::negotiated_protocol() const {
  const unsigned char* name = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &name, &length);
  return name != nullptr ? std::string(reinterpret_cast<const char*>(name), length) : std::string();
}

bool tls_codec::take_wire(std::span<const std::byte> wire) {
  assert(wire.size() <= size_t(INT_MAX));
  if (wire.empty()) return true;
  return BIO_write(wire_in_, wire.data(), int(wire.size())) == int(wire.size());
}

int tls_codec::decode(std::span<std::byte> out) {
  assert(!out.empty());
  ERR_clear_error();
  size_t read = 0;
  if (SSL_read_ex(ssl_, out.data(), out.size(), &read) == 1) {
    assert(read > 0 && read <= size_t(INT_MAX));
    return int(read);
  }
  const int error = SSL_get_error(ssl_, 0);
  if (error == SSL_ERROR_WANT_READ) return need_wire;
  if (error == SSL_ERROR_ZERO_RETURN) return peer_closed;
  record_failure(error);
  return failed;
}

bool tls_codec::encode(std::span<const std::byte> plain, std::string& wire) {
  while (!plain.empty()) {
    ERR_clear_error();
    size_t written = 0;
    if (SSL_write_ex(ssl_, plain.data(), plain.size(), &written) != 1) {
      record_failure(SSL_get_error(ssl_, 0));
      return false;
    }
    plain = plain.subspan(written);
  }
  drain_wire(wire);
  return true;
}

void tls_codec::drain_wire(std::string& wire) {
  const size_t pending = BIO_ctrl_pending(wire_out_);
  if (pending == 0) return;
  const size_t old_size = wire.size();
  wire.resize(old_size + pending);
  const int read = BIO_read(wire_out_, wire.data() + old_size, int(pending));
  assert(read == int(pending));
  wire.resize(old_size + size_t(read > 0 ? read : 0));
}

}  // namespace ringkv::net::tls
