#include "gateway/telemetry/http_server.h"

#include <gtest/gtest.h>

#include <atomic>

namespace gw::telemetry {
namespace {

TEST(HttpServer, ServesMetricsAndHealthAnd404) {
  std::atomic<bool> healthy{true};
  auto server = HttpServer::start(
      {"127.0.0.1", 0}, [] { return std::string("# TYPE a gauge\na 1\n"); },
      [&] { return HealthReport{healthy.load(), healthy ? "{\"status\":\"ok\"}" : "{\"status\":\"unhealthy\"}"}; });
  ASSERT_TRUE(server.is_ok()) << server.status().message();
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());

  auto m = http_get(base + "/metrics");
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(m->body, "# TYPE a gauge\na 1\n");

  auto h = http_get(base + "/healthz");
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ(h->status, 200);
  healthy = false;
  h = http_get(base + "/healthz");
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ(h->status, 503);
  EXPECT_EQ(h->body, "{\"status\":\"unhealthy\"}");
  EXPECT_EQ(h->content_type, "application/json");

  auto nf = http_get(base + "/nope");
  ASSERT_TRUE(nf.is_ok());
  EXPECT_EQ(nf->status, 404);

  (*server)->stop();
  auto gone = http_get(base + "/metrics", std::chrono::milliseconds(500));
  EXPECT_EQ(gone.status().code(), StatusCode::kUnavailable);
}

TEST(HttpServer, ReportsAPortInUse) {
  auto first = HttpServer::start({"127.0.0.1", 0}, [] { return std::string(); }, [] { return HealthReport{}; });
  ASSERT_TRUE(first.is_ok());
  auto second = HttpServer::start({"127.0.0.1", (*first)->port()}, [] { return std::string(); },
                                  [] { return HealthReport{}; });
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("telemetry.http"), std::string::npos);
}

TEST(HttpGet, RejectsUrlsItCannotFetch) {
  EXPECT_EQ(http_get("https://127.0.0.1:1/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(http_get("http:///metrics").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gw::telemetry
