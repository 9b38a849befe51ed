// Listener and Client: the asio side of the broker. A Listener accepts TCP
// sockets on one address; a Client owns one accepted socket and drives one
// Connection (the sans-IO state machine) with it: bytes read go into
// Connection::on_bytes(), its output is written, its deadlines arm a timer,
// and it stops reading while the connection's inbound window is full.
//
// Module-internal (includes asio, which gw_broker links PRIVATE): only
// broker.cc and the broker's tests include it. Everything here runs on the
// broker's io thread; nothing is thread-safe.
//
// Lifetime: a Client is held by shared_ptr because asio's pending read, write
// and timer handlers keep it alive until they have run (shared by the broker's
// client table and the in-flight operations); the broker drops its reference
// from the on_closed callback.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>

#include "gateway/broker/broker.h"
#include "gateway/broker/connection.h"
#include "gateway/core/clock.h"
#include "gateway/core/status.h"

namespace gw::broker {

// The byte stream under a Client: plain TCP, or TLS (asio::ssl::stream) with
// the server handshake in start().
class Transport {
 public:
  using IoHandler = std::function<void(const std::error_code&, size_t)>;
  // The bytes are valid only during the call (they may live in a buffer the
  // io thread shares among all its connections).
  using ReadHandler = std::function<void(const std::error_code&, std::string_view bytes)>;
  virtual ~Transport() = default;
  // Runs `ready` once the stream can carry MQTT (after a TLS handshake).
  virtual void start(std::function<void(const std::error_code&)> ready) = 0;
  // Reads what has arrived (at least one byte, or an error).
  virtual void async_read(ReadHandler handler) = 0;
  // Writes all of [data, data+size) (the buffer must stay valid until the handler).
  virtual void async_write(const char* data, size_t size, IoHandler handler) = 0;
  virtual void close() = 0;
  virtual std::string remote_address() const = 0;
  // The subject CN of the client's verified certificate, after start()'s
  // handshake; empty for plain TCP or without a client certificate.
  virtual std::string peer_cn() const { return {}; }
};

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(asio::ip::tcp::socket socket);
  // Transport:
  void start(std::function<void(const std::error_code&)> ready) override;
  // Waits for readability with no buffer of its own, then reads into the io
  // thread's shared buffer: an idle connection holds no read buffer.
  void async_read(ReadHandler handler) override;
  void async_write(const char* data, size_t size, IoHandler handler) override;
  void close() override;
  std::string remote_address() const override;

 private:
  asio::ip::tcp::socket socket_;
  std::string remote_;
};

class TlsTransport final : public Transport {
 public:
  TlsTransport(asio::ip::tcp::socket socket, asio::ssl::context& context);
  // Transport:
  void start(std::function<void(const std::error_code&)> ready) override;
  // TLS may hold decrypted bytes of its own, so it reads into a buffer of
  // this connection (allocated at the first read).
  void async_read(ReadHandler handler) override;
  void async_write(const char* data, size_t size, IoHandler handler) override;
  void close() override;
  std::string remote_address() const override;
  std::string peer_cn() const override { return peer_cn_; }

 private:
  asio::ssl::stream<asio::ip::tcp::socket> stream_;
  std::unique_ptr<char[]> read_buf_;
  std::string remote_;
  std::string peer_cn_;
};

// The server TLS context of a listener: certificate chain and key, TLS 1.2+,
// client certificate verification per the options. Errors: kInvalidArgument
// naming the file and OpenSSL's reason.
Result<std::unique_ptr<asio::ssl::context>> make_tls_context(const TlsOptions& tls);

// Totals over all clients, read from any thread by Broker::stats(). Each
// Client adds the growth of its ConnectionCounters after every event.
struct AtomicCounters {
  std::atomic<uint64_t> connections_current{0};
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> connections_rejected{0};
  std::atomic<uint64_t> messages_in[3] = {0, 0, 0};
  std::atomic<uint64_t> messages_out{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> ingest_refused{0};
  std::atomic<uint64_t> dropped_outbound{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<uint64_t> retained_messages{0};
  std::atomic<uint64_t> subscriptions{0};
  std::atomic<uint64_t> loop_ticks{0};  // io-loop heartbeat (sweep timer)
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> tls_handshake_failures{0};
  std::atomic<uint64_t> publish_denied{0};
  std::atomic<uint64_t> subscribe_denied{0};
  std::atomic<uint64_t> topic_refused{0};

  void add(const ConnectionCounters& now, const ConnectionCounters& before);
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  using ClosedHandler = std::function<void(uint64_t id)>;
  Client(asio::io_context& io, std::unique_ptr<Transport> transport, uint64_t id, ConnectionOptions options,
         ConnectionHost& host, const Clock& clock, AtomicCounters& totals, ClosedHandler on_closed);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts reading and the connect timer.
  void start();
  Connection& connection() { return connection_; }
  // Call after anything that fed the connection: writes its output, closes
  // the socket when it asked to, resumes reading, re-arms the timer.
  void flush();
  // Closes the socket now (idempotent); the connection sees on_transport_closed().
  void close_now();
  const std::string& remote_address() const { return remote_; }

 private:
  void do_read();
  void arm_timer();
  void on_timer();
  void report_counters();

  std::unique_ptr<Transport> transport_;
  Connection connection_;
  const Clock& clock_;
  AtomicCounters& totals_;
  ConnectionCounters reported_;
  ClosedHandler on_closed_;
  std::string remote_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point armed_for_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point close_deadline_ = std::chrono::steady_clock::time_point::max();
  std::string write_buf_;
  bool started_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

class Listener {
 public:
  // Called with each accepted socket, wrapped per the listener (TCP or TLS,
  // handshake not started).
  using AcceptHandler = std::function<void(std::unique_ptr<Transport> transport, const std::string& listener)>;
  // Binds and listens (does not accept yet). Errors: kUnavailable naming the
  // listener and address ("listener 'local' 127.0.0.1:1883: Address already
  // in use"), kInvalidArgument for an unparseable host or unusable TLS files.
  static Result<std::unique_ptr<Listener>> bind(asio::io_context& io, const ListenerOptions& options,
                                                AcceptHandler on_accept);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  const std::string& name() const { return options_.name; }
  uint16_t port() const { return port_; }
  // Starts the accept loop; stop() closes the acceptor. io thread.
  void start();
  void stop();

 private:
  Listener(asio::io_context& io, ListenerOptions options, AcceptHandler on_accept);
  void do_accept();

  ListenerOptions options_;
  std::unique_ptr<asio::ssl::context> tls_;  // null: plain TCP
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  AcceptHandler on_accept_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace gw::broker
