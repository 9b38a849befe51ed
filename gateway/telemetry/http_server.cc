#include "gateway/telemetry/http_server.h"

#include <httplib.h>
#include <pthread.h>
#include <sys/socket.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "gateway/core/log.h"
#include "gateway/telemetry/metrics.h"

namespace gw::telemetry {
namespace {
// This module's logger (core/log.h).
spdlog::logger& logger() { return log::get(log::Module::kTelemetry); }
}  // namespace

class HttpServer::Impl {
 public:
  Impl(MetricsFn metrics, HealthFn health) : metrics_(std::move(metrics)), health_(std::move(health)) {
    // One worker: scrapes are rare and must stay cheap for the box.
    server_.new_task_queue = [] { return new httplib::ThreadPool(1); };
    server_.set_keep_alive_max_count(10);
    server_.set_keep_alive_timeout(2);
    server_.set_read_timeout(std::chrono::seconds(2));
    server_.set_write_timeout(std::chrono::seconds(2));
    server_.set_payload_max_length(4096);
    // cpp-httplib's default also sets SO_REUSEPORT, which would let a second
    // gateway bind the same port and steal half the scrapes. Only reuse
    // TIME_WAIT addresses.
    server_.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_(), std::string(kPrometheusContentType));
    });
    server_.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      HealthReport h = health_();
      res.status = h.ok ? 200 : 503;
      res.set_content(std::move(h.json), "application/json");
    });
    server_.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      logger().error("telemetry: {} failed: {}", req.path, what);
      res.status = 500;
      res.set_content("internal error\n", "text/plain");
    });
  }

  Status start(const HttpServerOptions& o) {
    if (o.port == 0) {
      const int p = server_.bind_to_any_port(o.host);
      if (p <= 0) return unavailable("telemetry.http " + o.host + ":0: cannot bind");
      port_ = static_cast<uint16_t>(p);
    } else {
      if (!server_.bind_to_port(o.host, o.port)) {
        return unavailable("telemetry.http " + o.host + ":" + std::to_string(o.port) + ": cannot bind");
      }
      port_ = o.port;
    }
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "gw-http");
      server_.listen_after_bind();
    });
    // stop() is only effective once the loop runs.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return Status::ok();
  }

  void stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }

  uint16_t port() const { return port_; }

 private:
  MetricsFn metrics_;
  HealthFn health_;
  httplib::Server server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options, MetricsFn metrics,
                                                      HealthFn health) {
  auto impl = std::make_unique<Impl>(std::move(metrics), std::move(health));
  GW_RETURN_IF_ERROR(impl->start(options));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::stop() { impl_->stop(); }

Result<HttpResponse> http_get(std::string_view url, std::chrono::milliseconds timeout) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return invalid_argument("not an http:// URL: " + std::string(url));
  const size_t slash = url.find('/', kScheme.size());
  const std::string base(url.substr(0, slash));
  const std::string path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (base.size() == kScheme.size()) return invalid_argument("no host in URL: " + std::string(url));
  try {
    httplib::Client client(base);
    if (!client.is_valid()) return invalid_argument("bad URL: " + std::string(url));
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    auto res = client.Get(path);
    if (!res) return unavailable(std::string(url) + ": " + httplib::to_string(res.error()));
    return HttpResponse{res->status, res->get_header_value("Content-Type"), std::move(res->body)};
  } catch (const std::exception& e) {
    return unavailable(std::string(url) + ": " + e.what());
  }
}

}  // namespace gw::telemetry
