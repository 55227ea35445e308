// stream_codec: a transform that sits between a connection's user and its socket (TLS is the one in
// use: net/tls). With a codec installed (connection::set_codec), fill() feeds received socket bytes to
// take_wire() and reads plain bytes out of decode(); write()/writev()/flush() hand plain bytes to
// encode() and send the wire bytes it produced. The codec does no I/O and never blocks: it only moves
// bytes between memory buffers, on the connection's shard.
//
//   socket --recv--> take_wire() -> [codec] -> decode() -> read buffer -> readable()
//   write(plain) --> encode() -> [codec] -> wire bytes --sendmsg--> socket
//
// Order: the wire bytes a codec produces must reach the socket in the order it produced them (TLS
// records carry sequence numbers). The connection keeps that order by encoding and queueing in one
// synchronous step, and by taking every wire byte the codec holds whenever it drains it.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace ringkv::net {

class stream_codec {
 public:
  // decode() results besides a positive byte count.
  static constexpr int need_wire = 0;     // no whole record buffered: receive more socket bytes
  static constexpr int peer_closed = -1;  // the peer ended the stream cleanly (TLS close_notify)
  static constexpr int failed = -2;       // a protocol error: the connection must close

  virtual ~stream_codec() = default;

  // Socket bytes just received. False on a codec failure.
  virtual bool take_wire(std::span<const std::byte> wire) = 0;
  // Plain bytes into `out` (non-empty): a count > 0, need_wire, peer_closed or failed.
  virtual int decode(std::span<std::byte> out) = 0;
  // Encodes `plain` and appends every wire byte the codec holds to `wire`. False on failure.
  virtual bool encode(std::span<const std::byte> plain, std::string& wire) = 0;
  // Appends the wire bytes the codec produced on its own (e.g. a reply decode() caused) to `wire`.
  virtual void drain_wire(std::string& wire) = 0;
};

}  // namespace ringkv::net
