// HttpServer: the small HTTP endpoint for operators and scrapers.
//   GET /metrics  -> 200, Prometheus text 0.0.4 (the `metrics` callback)
//   GET /healthz  -> 200 or 503, application/json (the `health` callback)
// Anything else is 404. HTTP parsing is cpp-httplib's (a private dependency of
// this module); nothing here knows the gateway's other modules.
//
// Threads: one accept thread ("gw-http") and one worker thread, so a scrape
// never competes with the broker or the store for more than one core. The
// callbacks run on the worker and must be thread-safe. start()/stop() are
// called from the owner (main) thread. Not copyable.
//
// http_get() is the matching client for `edge-gateway status` and tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/core/status.h"

namespace gw::telemetry {

struct HealthReport {
  bool ok = true;
  std::string json;  // the response body, e.g. {"status":"ok"}
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9100;  // 0: any free port (read it with port())
};

class HttpServer {
 public:
  using MetricsFn = std::function<std::string()>;
  using HealthFn = std::function<HealthReport()>;

  // Binds and starts serving. Errors: kUnavailable "telemetry.http
  // 127.0.0.1:9100: cannot bind". Blocks until bound.
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options, MetricsFn metrics,
                                                   HealthFn health);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Stops accepting, finishes the request in progress, joins the threads.
  // Idempotent; blocks.
  void stop();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// GET `url` ("http://127.0.0.1:9100/metrics"; plain HTTP only). Errors:
// kInvalidArgument for a malformed URL, kUnavailable when the server cannot
// be reached or does not answer within `timeout`. Blocks.
Result<HttpResponse> http_get(std::string_view url, std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace gw::telemetry
