#include "gateway/broker/listener.h"

#include <spdlog/spdlog.h>

#include <asio/write.hpp>
#include <utility>

namespace gw::broker {

namespace {
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
}

// ---- TcpTransport --------------------------------------------------------------

TcpTransport::TcpTransport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  std::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  remote_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

void TcpTransport::start(std::function<void(const std::error_code&)> ready) { ready({}); }

void TcpTransport::async_read_some(char* data, size_t size, IoHandler handler) {
  socket_.async_read_some(asio::buffer(data, size), std::move(handler));
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
  transport_->start([self](const std::error_code& ec) {
    if (ec) {
      self->close_now();
      return;
    }
    self->started_ = true;
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
    spdlog::debug("broker: {} ({}) closed: {}", remote_, connection_.client_id(), connection_.close_reason());
  }
  if (on_closed_) on_closed_(connection_.id());
}

void Client::do_read() {
  reading_ = true;
  auto self = shared_from_this();
  transport_->async_read_some(read_buf_.data(), read_buf_.size(), [self](const std::error_code& ec, size_t n) {
    self->reading_ = false;
    if (self->closed_) return;
    if (ec) {
      self->close_now();
      return;
    }
    self->connection_.on_bytes(std::string_view(self->read_buf_.data(), n));
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
      spdlog::warn("broker: listener '{}' accept failed: {}", options_.name, ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](const std::error_code& e) {
        if (!e) do_accept();
      });
      return;
    }
    on_accept_(std::move(socket), options_.name);
    do_accept();
  });
}

}  // namespace gw::broker
