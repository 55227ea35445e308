// net/tls/tls_codec.h — one TLS session (accepting or dialing, as its context is) as a net::stream_codec: OpenSSL with two memory
// BIOs, so OpenSSL never touches the socket. The runtime moves bytes between the socket and the BIOs
// (io_uring or epoll); OpenSSL only encrypts, decrypts and runs the handshake state machine in memory,
// so no OpenSSL call can block a reactor.
//
//   socket --recv--> take_wire() -> BIO wire_in -> SSL_read  -> plain bytes (decode)
//   plain --> SSL_write -> BIO wire_out -> drain_wire()/encode() -> send --> socket
//
// The handshake runs first (tls_handshake.h drives handshake() with the raw connection); the codec is
// then installed under the connection. The memory BIOs stay bounded: wire_in holds at most what one
// recv brought plus a partial record (it is fed only when decode() needs more), wire_out is emptied
// by every encode() and drain_wire().
#pragma once

#include <memory>
#include <string>

#include "net/tcp/stream_codec.h"
#include "net/tls/tls_context.h"

struct bio_st;  // OpenSSL's BIO

namespace ringkv::net::tls {

class tls_codec final : public net::stream_codec {
 public:
  // `server_host`: for a dialing context that verifies, the host (IP or name) the certificate must be for.
  explicit tls_codec(std::shared_ptr<const tls_context> context, const std::string& server_host = {});
  ~tls_codec() override;
  tls_codec(const tls_codec&) = delete;
  tls_codec& operator=(const tls_codec&) = delete;

  enum class handshake_step { done, need_wire, failed };
  // Advances the handshake with the wire bytes taken so far; drain_wire() then has its reply.
  handshake_step handshake();
  // Why the handshake or a record failed (the certificate check's verdict when that was it).
  const std::string& failure() const { return failure_; }
  // After the handshake: the other side's certificate's subject CN (empty without one) and the ALPN choice.
  std::string client_common_name() const;
  std::string negotiated_protocol() const;
  // After the handshake, on an accepting side that checks it: check_client_san's verdict.
  std::string check_client_san(const std::string& remote_ip) const;

  // net::stream_codec
  bool take_wire(std::span<const std::byte> wire) override;
  int decode(std::span<std::byte> out) override;
  bool encode(std::span<const std::byte> plain, std::string& wire) override;
  void drain_wire(std::string& wire) override;

 private:
  void record_failure(int ssl_error);

  std::shared_ptr<const tls_context> context_;  // the SSL_CTX outlives this session
  ssl_st* ssl_ = nullptr;
  bio_st* wire_in_ = nullptr;   // owned by ssl_
  bio_st* wire_out_ = nullptr;  // owned by ssl_
  std::string failure_;
};

}  // namespace ringkv::net::tls
