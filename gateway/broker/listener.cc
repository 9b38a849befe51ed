#include "gateway/broker/listener.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <asio/ssl/error.hpp>
#include <asio/write.hpp>
#include <utility>

#include "gateway/core/log.h"

namespace gw::broker {
namespace {
// This module's logger (core/log.h).
spdlog::logger& logger() { return log::get(log::Module::kBroker); }
// How long a connection that asked to close may take to flush its last bytes
// (a peer that stops reading must not hold the socket forever).
constexpr std::chrono::seconds kCloseLinger{2};
}  // namespace

void AtomicCounters::add(const ConnectionCounters& now, const ConnectionCounters& before) {
  for (int q = 0; q < 3; ++q) messages_in[q] += now.messages_in[q] - before.messages_in[q];
  messages_out += now.messages_out - before.messages_out;
  bytes_in += now.bytes_in - before.bytes_in;
  bytes_out += now.bytes_out - before.bytes_out;
  ingest_refused += now.ingest_refused - before.ingest_refused;
  dropped_outbound += now.dropped_outbound - before.dropped_outbound;
  protocol_errors += now.protocol_errors - before.protocol_errors;
  publish_denied += now.publish_denied - before.publish_denied;
  subscribe_denied += now.subscribe_denied - before.subscribe_denied;
  topic_refused += now.topic_refused - before.topic_refused;
}

// ---- TcpTransport --------------------------------------------------------------

namespace {
constexpr size_t kReadChunk = 16 * 1024;
}  // namespace

TcpTransport::TcpTransport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  std::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  remote_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);
}

void TcpTransport::start(std::function<void(const std::error_code&)> ready) { ready({}); }

void TcpTransport::async_read(ReadHandler handler) {
  socket_.async_wait(asio::socket_base::wait_read, [this, handler = std::move(handler)](std::error_code ec) mutable {
    if (ec) {
      handler(ec, {});
      return;
    }
    // One buffer per io thread: the handler consumes the bytes before the
    // thread runs anything else.
    static thread_local std::array<char, kReadChunk> buf;
    const size_t n = socket_.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      async_read(std::move(handler));  // woken without data (spurious): wait again
      return;
    }
    handler(ec, std::string_view(buf.data(), ec ? 0 : n));
  });
}

void TcpTransport::async_write(const char* data, size_t size, IoHandler handler) {
  asio::async_write(socket_, asio::buffer(data, size), std::move(handler));
}

void TcpTransport::close() {
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

std::string TcpTransport::remote_address() const { return remote_; }

// ---- TlsTransport --------------------------------------------------------------

namespace {

// The subject CN of a certificate as UTF-8; empty when it has none.
std::string subject_cn(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int i = name == nullptr ? -1 : X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return {};
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  if (n < 0) return {};
  std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return cn;
}

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

TlsTransport::TlsTransport(asio::ip::tcp::socket socket, asio::ssl::context& context)
    : stream_(std::move(socket), context) {
  std::error_code ec;
  const auto ep = stream_.next_layer().remote_endpoint(ec);
  remote_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  stream_.next_layer().set_option(asio::ip::tcp::no_delay(true), ec);
}

void TlsTransport::start(std::function<void(const std::error_code&)> ready) {
  stream_.async_handshake(asio::ssl::stream_base::server,
                          [this, ready = std::move(ready)](const std::error_code& ec) {
                            if (ec) {
                              logger().info("broker: TLS handshake with {} failed: {}", remote_, ec.message());
                              ready(ec);
                              return;
                            }
                            // Only a certificate that verified reaches here (verify_peer fails
                            // the handshake otherwise), so its CN is an identity.
                            if (X509* cert = SSL_get1_peer_certificate(stream_.native_handle())) {
                              if (SSL_get_verify_result(stream_.native_handle()) == X509_V_OK) {
                                peer_cn_ = subject_cn(cert);
                              }
                              X509_free(cert);
                            }
                            ready(ec);
                          });
}

void TlsTransport::async_read(ReadHandler handler) {
  if (!read_buf_) read_buf_ = std::make_unique<char[]>(kReadChunk);
  stream_.async_read_some(asio::buffer(read_buf_.get(), kReadChunk),
                          [this, handler = std::move(handler)](const std::error_code& ec, size_t n) {
                            handler(ec, std::string_view(read_buf_.get(), ec ? 0 : n));
                          });
}

void TlsTransport::async_write(const char* data, size_t size, IoHandler handler) {
  asio::async_write(stream_, asio::buffer(data, size), std::move(handler));
}

void TlsTransport::close() {
  // No close_notify round trip: the peer may be gone or hostile, and MQTT
  // framing already tells it where the data ended.
  std::error_code ec;
  stream_.next_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.next_layer().close(ec);
}

std::string TlsTransport::remote_address() const { return remote_; }

Result<std::unique_ptr<asio::ssl::context>> make_tls_context(const TlsOptions& tls) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  // OpenSSL frees an idle connection's record buffers (~34 KB) until it reads again.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  if (tls.cert.empty() || tls.key.empty()) return invalid_argument("tls: cert and key are required");
  if (SSL_CTX_use_certificate_chain_file(native, tls.cert.c_str()) != 1) {
    return invalid_argument("tls cert '" + tls.cert + "': " + openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(native, tls.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return invalid_argument("tls key '" + tls.key + "': " + openssl_error());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return invalid_argument("tls key '" + tls.key + "' does not match cert '" + tls.cert + "'");
  }
  if (!tls.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(native, tls.client_ca.c_str(), nullptr) != 1) {
      return invalid_argument("tls client_ca '" + tls.client_ca + "': " + openssl_error());
    }
    // Tell clients which CAs we accept (some pick their certificate by it).
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
    int mode = SSL_VERIFY_PEER;
    if (tls.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(native, mode, nullptr);
  } else if (tls.require_client_cert) {
    return invalid_argument("tls: require_client_cert needs client_ca");
  }
  ERR_clear_error();
  return ctx;
}

// ---- Client ------------------------------------------------------------------

Client::Client(asio::io_context& io, std::unique_ptr<Transport> transport, uint64_t id, ConnectionOptions options,
               ConnectionHost& host, const Clock& clock, AtomicCounters& totals, ClosedHandler on_closed)
    : transport_(std::move(transport)),
      connection_(id, std::move(options), host, clock),
      clock_(clock),
      totals_(totals),
      on_closed_(std::move(on_closed)),
      remote_(transport_->remote_address()),
      timer_(io) {}

void Client::start() {
  auto self = shared_from_this();
  // The connect timeout also bounds the TLS handshake.
  arm_timer();
  transport_->start([self](const std::error_code& ec) {
    if (ec) {
      ++self->totals_.tls_handshake_failures;
      self->close_now();
      return;
    }
    self->started_ = true;
    self->connection_.set_cert_cn(self->transport_->peer_cn());
    self->flush();
  });
}

void Client::flush() {
  if (closed_ || !started_) return;
  report_counters();
  if (!writing_ && connection_.has_output()) {
    write_buf_ = connection_.take_output();
    writing_ = true;
    auto self = shared_from_this();
    transport_->async_write(write_buf_.data(), write_buf_.size(), [self](const std::error_code& ec, size_t) {
      self->writing_ = false;
      if (ec) {
        self->close_now();
        return;
      }
      self->flush();
    });
  }
  if (connection_.close_requested()) {
    if (!writing_) {
      close_now();
      return;
    }
    if (close_deadline_ == std::chrono::steady_clock::time_point::max()) {
      close_deadline_ = clock_.now() + kCloseLinger;
    }
  } else if (!reading_ && connection_.wants_read()) {
    do_read();
  }
  arm_timer();
}

void Client::close_now() {
  if (closed_) return;
  auto self = shared_from_this();  // on_closed_ may drop the broker's reference
  closed_ = true;
  timer_.cancel();
  transport_->close();
  connection_.on_transport_closed();
  report_counters();
  if (!connection_.close_reason().empty()) {
    logger().debug("broker: {} ({}) closed: {}", remote_, connection_.client_id(), connection_.close_reason());
  }
  if (on_closed_) on_closed_(connection_.id());
}

void Client::do_read() {
  reading_ = true;
  auto self = shared_from_this();
  transport_->async_read([self](const std::error_code& ec, std::string_view bytes) {
    self->reading_ = false;
    if (self->closed_) return;
    if (ec) {
      self->close_now();
      return;
    }
    self->connection_.on_bytes(bytes);
    self->flush();
  });
}

void Client::arm_timer() {
  const auto deadline = std::min(connection_.next_deadline(), close_deadline_);
  if (deadline == std::chrono::steady_clock::time_point::max()) return;
  // A timer armed for an earlier time fires, finds nothing due, and re-arms:
  // cheaper than cancelling on every packet that moves the keep-alive.
  if (armed_for_ <= deadline) return;
  armed_for_ = deadline;
  const auto delay = deadline - clock_.now();
  timer_.expires_after(delay.count() > 0 ? delay : std::chrono::steady_clock::duration::zero());
  auto self = shared_from_this();
  timer_.async_wait([self](const std::error_code& ec) {
    if (ec) return;  // cancelled: armed_for_ was reset by whoever cancelled
    self->on_timer();
  });
}

void Client::on_timer() {
  armed_for_ = std::chrono::steady_clock::time_point::max();
  if (closed_) return;
  const auto now = clock_.now();
  if (now >= close_deadline_) {
    close_now();
    return;
  }
  connection_.on_tick(now);
  if (!started_) {  // still in the TLS handshake
    if (connection_.close_requested()) {
      close_now();
    } else {
      arm_timer();
    }
    return;
  }
  flush();
}

void Client::report_counters() {
  const ConnectionCounters& now = connection_.counters();
  totals_.add(now, reported_);
  reported_ = now;
}

// ---- Listener ----------------------------------------------------------------

Listener::Listener(asio::io_context& io, ListenerOptions options, AcceptHandler on_accept)
    : options_(std::move(options)), acceptor_(io), retry_timer_(io), on_accept_(std::move(on_accept)) {}

Result<std::unique_ptr<Listener>> Listener::bind(asio::io_context& io, const ListenerOptions& options,
                                                 AcceptHandler on_accept) {
  const std::string where = "listener '" + options.name + "' " + options.host + ":" + std::to_string(options.port);
  std::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (ec) return invalid_argument(where + ": not an IP address");
  std::unique_ptr<Listener> l(new Listener(io, options, std::move(on_accept)));
  if (options.tls) {
    auto ctx = make_tls_context(*options.tls);
    if (!ctx.is_ok()) return invalid_argument(where + ": " + ctx.status().message());
    l->tls_ = std::move(ctx).value();
  }
  const asio::ip::tcp::endpoint endpoint(address, options.port);
  auto fail = [&](const char* step) -> Status { return unavailable(where + ": " + step + ": " + ec.message()); };
  l->acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  l->acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (ec) return fail("setsockopt");
  l->acceptor_.bind(endpoint, ec);
  if (ec) return fail("bind");
  l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  l->port_ = l->acceptor_.local_endpoint(ec).port();
  if (ec) return fail("local address");
  return l;
}

void Listener::start() { do_accept(); }

void Listener::stop() {
  stopped_ = true;
  std::error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
}

void Listener::do_accept() {
  if (stopped_) return;
  acceptor_.async_accept([this](const std::error_code& ec, asio::ip::tcp::socket socket) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // EMFILE and friends: log, back off briefly instead of spinning.
      logger().warn("broker: listener '{}' accept failed: {}", options_.name, ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](const std::error_code& e) {
        if (!e) do_accept();
      });
      return;
    }
    std::unique_ptr<Transport> transport;
    if (tls_) {
      transport = std::make_unique<TlsTransport>(std::move(socket), *tls_);
    } else {
      transport = std::make_unique<TcpTransport>(std::move(socket));
    }
    on_accept_(std::move(transport), options_.name);
    do_accept();
  });
}

}  // namespace gw::broker
