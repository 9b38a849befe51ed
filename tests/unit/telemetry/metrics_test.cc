#include "gateway/telemetry/metrics.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/unit/telemetry/prom_text_parser.h"

namespace gw::telemetry {
namespace {

namespace prom = gw::testing::prom;

TEST(Exposition, RendersHelpTypeAndSamplesThatAStrictParserAccepts) {
  Exposition e;
  e.counter("edge_gateway_messages_in_total", "Messages in.", 3, {{"qos", "0"}});
  e.gauge("edge_gateway_connections", "Open now.", 2);
  e.counter("edge_gateway_messages_in_total", "Messages in.", 4, {{"qos", "1"}});
  const std::string text = e.render();
  EXPECT_EQ(text,
            "# HELP edge_gateway_messages_in_total Messages in.\n"
            "# TYPE edge_gateway_messages_in_total counter\n"
            "edge_gateway_messages_in_total{qos=\"0\"} 3\n"
            "edge_gateway_messages_in_total{qos=\"1\"} 4\n"
            "# HELP edge_gateway_connections Open now.\n"
            "# TYPE edge_gateway_connections gauge\n"
            "edge_gateway_connections 2\n");
  const auto p = prom::parse(text);
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.value("edge_gateway_messages_in_total", {{"qos", "1"}}), 4);
}

TEST(Exposition, EscapesLabelValuesAndHelp) {
  Exposition e;
  e.gauge("x", "line1\nback\\slash", 1.5, {{"route", "a\"b\\c\nd"}});
  const std::string text = e.render();
  EXPECT_NE(text.find("# HELP x line1\\nback\\\\slash\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x{route=\"a\\\"b\\\\c\\nd\"} 1.5\n"), std::string::npos) << text;
  const auto p = prom::parse(text);
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.families.at("x").samples.at(0).labels.at("route"), "a\"b\\c\nd");
}

TEST(Histogram, BucketsAreInclusiveUpperBoundsAndCumulative) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 7.0, 100.0}) h.observe(v);
  const auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 5}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 108.65);
  Exposition e;
  e.histogram("lat_seconds", "Latency.", s, {{"uplink", "cloud"}});
  const std::string text = e.render();
  EXPECT_NE(text.find("lat_seconds_bucket{uplink=\"cloud\",le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{uplink=\"cloud\",le=\"+Inf\"} 6\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_count{uplink=\"cloud\"} 6\n"), std::string::npos) << text;
  const auto p = prom::parse(text);
  EXPECT_TRUE(p.ok()) << p.error;
}

TEST(Histogram, ConcurrentObservationsAreAllCounted) {
  Histogram h(Histogram::latency_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) h.observe(0.001 * (i % 50));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.snapshot().count, 40000u);
}

TEST(LabeledCounter, AddsPerKey) {
  LabeledCounter c;
  c.add("a");
  c.add("b", 5);
  c.add("a");
  EXPECT_EQ(c.snapshot(), (std::vector<std::pair<std::string, uint64_t>>{{"a", 2}, {"b", 5}}));
}

TEST(Registry, RunsCollectorsInOrderOnEveryScrape) {
  Registry r;
  int calls = 0;
  r.add([&](Exposition& e) { e.counter("a_total", "A.", ++calls); });
  r.add([&](Exposition& e) { e.gauge("b", "B.", 7); });
  (void)r.scrape();
  const auto p = prom::parse(r.scrape());
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.value("a_total"), 2);
  EXPECT_EQ(p.value("b"), 7);
}

// The test parser must reject what Prometheus rejects, or the integration
// test proves nothing.
TEST(PromTextParser, RejectsMalformedExpositions) {
  const std::vector<std::pair<const char*, std::string>> bad = {
      {"sample before TYPE", "a 1\n# TYPE a gauge\n"},
      {"split family", "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x=\"1\"} 2\n"},
      {"bad escape", "# TYPE a gauge\na{x=\"\\t\"} 1\n"},
      {"bad name", "# TYPE 1a gauge\n"},
      {"bad value", "# TYPE a gauge\na one\n"},
      {"no newline at end", "# TYPE a gauge\na 1"},
      {"duplicate series", "# TYPE a gauge\na 1\na 2\n"},
      {"negative counter", "# TYPE a_total counter\na_total -1\n"},
      {"no +Inf", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"},
      {"+Inf != count", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n"},
      {"not cumulative", "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"},
      {"second TYPE", "# TYPE a gauge\n# TYPE a counter\n"},
      {"unquoted label", "# TYPE a gauge\na{x=1} 1\n"},
  };
  for (const auto& [why, text] : bad) EXPECT_FALSE(prom::parse(text).ok()) << why;
  EXPECT_TRUE(prom::parse("# HELP a A.\n# TYPE a gauge\na{x=\"1\"} NaN\n\na{x=\"2\"} +Inf 123\n").ok());
}

}  // namespace
}  // namespace gw::telemetry
