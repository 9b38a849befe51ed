// The log sink chain: repeats suppressed on fake time with one summary line,
// per-module levels, a rotating file, and set-up errors.
#include "gateway/telemetry/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "gateway/core/log.h"
#include "gateway/telemetry/repeat_filter.h"
#include "tests/support/fake_clock.h"
#include "tests/support/process.h"

namespace gw::telemetry {
namespace {

using namespace std::chrono_literals;
using gw::testing::FakeClock;

// Records "level|logger|text" per line.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.push_back(std::string(spdlog::level::to_string_view(msg.level).data()) + "|" +
                     std::string(msg.logger_name.data(), msg.logger_name.size()) + "|" +
                     std::string(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

struct Chain {
  explicit Chain(RepeatLimit limit) {
    capture = std::make_shared<CaptureSink>();
    filter = std::make_shared<RepeatFilterSink>(capture, limit, clock);
    uplink = std::make_shared<spdlog::logger>("uplink", filter);
    broker = std::make_shared<spdlog::logger>("broker", filter);
    uplink->set_level(spdlog::level::trace);
    broker->set_level(spdlog::level::trace);
  }
  FakeClock clock;
  std::shared_ptr<CaptureSink> capture;
  std::shared_ptr<RepeatFilterSink> filter;
  std::shared_ptr<spdlog::logger> uplink, broker;
};

TEST(TelemetryRepeatFilter, DigitsDoNotMakeLinesDifferent) {
  EXPECT_EQ(RepeatFilterSink::shape_of("attempt 7, next in 400 ms"), RepeatFilterSink::shape_of("attempt 12, next in 9 ms"));
  EXPECT_EQ(RepeatFilterSink::shape_of("a1b22c"), "a#b#c");
  EXPECT_NE(RepeatFilterSink::shape_of("cannot connect"), RepeatFilterSink::shape_of("connected"));
}

TEST(TelemetryRepeatFilter, SuppressesSimilarLinesPastTheLimitAndSaysHowManyWhenTheWindowEnds) {
  Chain c({3, 60s});
  for (int i = 1; i <= 10; ++i) {
    c.uplink->warn("uplink cloud: cannot connect (attempt {})", i);
    c.clock.advance(1s);
  }
  EXPECT_EQ(c.capture->lines(), (std::vector<std::string>{"warning|uplink|uplink cloud: cannot connect (attempt 1)",
                                                          "warning|uplink|uplink cloud: cannot connect (attempt 2)",
                                                          "warning|uplink|uplink cloud: cannot connect (attempt 3)"}));
  EXPECT_EQ(c.filter->suppressed_total(), 7u);
  // Before the window ends a flush says nothing more.
  c.uplink->flush();
  EXPECT_EQ(c.capture->lines().size(), 3u);
  c.clock.advance(50s);  // 60 s after the first line
  c.uplink->flush();
  const auto lines = c.capture->lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3], "warning|uplink|uplink cloud: cannot connect (attempt 10) (suppressed 7 similar lines)");
  // A new window lets the first lines through again.
  c.uplink->warn("uplink cloud: cannot connect (attempt {})", 11);
  EXPECT_EQ(c.capture->lines().back(), "warning|uplink|uplink cloud: cannot connect (attempt 11)");
}

TEST(TelemetryRepeatFilter, OtherLinesLoggersAndLevelsAreCountedApart) {
  Chain c({1, 10s});
  c.uplink->warn("flap {}", 1);
  c.uplink->warn("flap {}", 2);               // suppressed
  c.broker->warn("flap {}", 3);               // other logger
  c.uplink->error("flap {}", 4);              // other level
  c.uplink->warn("something else");           // other text
  EXPECT_EQ(c.capture->lines().size(), 4u);
  EXPECT_EQ(c.filter->suppressed_total(), 1u);
  // The summary comes with the next line after the window, before it.
  c.clock.advance(10s);
  c.broker->info("later");
  const auto lines = c.capture->lines();
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[4], "warning|uplink|flap 2 (suppressed 1 similar line)");
  EXPECT_EQ(lines[5], "info|broker|later");
}

TEST(TelemetryRepeatFilter, ReportsWhatIsLeftWhenDestroyed) {
  auto capture = std::make_shared<CaptureSink>();
  FakeClock clock;
  {
    auto filter = std::make_shared<RepeatFilterSink>(capture, RepeatLimit{2, 60s}, clock);
    spdlog::logger l("store", filter);
    for (int i = 0; i < 5; ++i) l.error("store: disk full ({} bytes free)", i);
  }
  const auto lines = capture->lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], "error|store|store: disk full (4 bytes free) (suppressed 3 similar lines)");
}

TEST(TelemetryRepeatFilter, OnlyWarningsAndWorseAreFiltered) {
  Chain c({2, 60s});
  for (int i = 0; i < 20; ++i) c.uplink->info("routes reloaded ({} route(s))", i);
  for (int i = 0; i < 20; ++i) c.uplink->debug("batch {} sent", i);
  EXPECT_EQ(c.capture->lines().size(), 40u);
  for (int i = 0; i < 5; ++i) c.uplink->critical("store: disk gone {}", i);
  EXPECT_EQ(c.capture->lines().size(), 42u);
}

TEST(TelemetryRepeatFilter, ZeroMaxLinesLetsEverythingThrough) {
  Chain c({0, 60s});
  for (int i = 0; i < 50; ++i) c.uplink->warn("same");
  EXPECT_EQ(c.capture->lines().size(), 50u);
}

class TelemetryLogging : public ::testing::Test {
 protected:
  void TearDown() override { ASSERT_TRUE(setup_logging({}).is_ok()); }
  gw::testing::TempDir dir_;
};

TEST_F(TelemetryLogging, ModulesHaveTheirOwnLevelsAndWriteToTheRotatingFile) {
  LoggingOptions o;
  o.level = "warn";
  o.module_levels = {{"broker", "debug"}, {"uplink", "error"}};
  o.file = dir_.path() / "logs" / "gateway.log";
  ASSERT_TRUE(setup_logging(o).is_ok());
  log::get(log::Module::kBroker).debug("broker: debug shown");
  log::get(log::Module::kBroker).trace("broker: trace hidden");
  log::get(log::Module::kUplink).warn("uplink: warn hidden");
  log::get(log::Module::kUplink).error("uplink: error shown");
  log::get(log::Module::kStore).info("store: info hidden");
  log::get(log::Module::kStore).warn("store: warn shown");
  spdlog::warn("default logger shown");
  flush_logs();
  const std::string text = gw::testing::read_file(o.file);
  EXPECT_NE(text.find("broker: debug shown"), std::string::npos) << text;
  EXPECT_NE(text.find("uplink: error shown"), std::string::npos) << text;
  EXPECT_NE(text.find("store: warn shown"), std::string::npos) << text;
  EXPECT_NE(text.find("default logger shown"), std::string::npos) << text;
  EXPECT_EQ(text.find("hidden"), std::string::npos) << text;
  EXPECT_NE(text.find(" error uplink: error shown"), std::string::npos) << text;  // "TIME LEVEL TEXT"
}

TEST_F(TelemetryLogging, TheFileRotatesAtItsSizeAndKeepsMaxFiles) {
  LoggingOptions o;
  o.file = dir_.path() / "gateway.log";
  o.max_file_bytes = 4096;
  o.max_files = 2;
  o.repeats.max_lines = 0;
  ASSERT_TRUE(setup_logging(o).is_ok());
  for (int i = 0; i < 200; ++i) log::get(log::Module::kApp).info("line {} {}", i, std::string(60, 'x'));
  flush_logs();
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "gateway.1.log"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "gateway.2.log"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "gateway.3.log"));
  EXPECT_LE(std::filesystem::file_size(o.file), 4096u);
}

TEST_F(TelemetryLogging, RejectsUnknownLevelsAndModulesWithoutChangingAnything) {
  LoggingOptions o;
  o.level = "verbose";
  EXPECT_EQ(setup_logging(o).code(), StatusCode::kInvalidArgument);
  o.level = "info";
  o.module_levels = {{"brokr", "debug"}};
  auto st = setup_logging(o);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("brokr"), std::string::npos);
  o.module_levels = {};
  o.file = "/proc/no/such/dir/gateway.log";
  EXPECT_EQ(setup_logging(o).code(), StatusCode::kUnavailable);
}

TEST_F(TelemetryLogging, LevelsChangeWhileRunningAndTheFileStays) {
  LoggingOptions o;
  o.level = "info";
  o.file = dir_.path() / "gateway.log";
  ASSERT_TRUE(setup_logging(o).is_ok());
  log::get(log::Module::kBroker).debug("broker: debug before, hidden");

  LoggingOptions levels;
  levels.level = "warn";
  levels.module_levels = {{"broker", "debug"}};
  levels.file = dir_.path() / "ignored.log";  // only levels change
  ASSERT_TRUE(set_log_levels(levels).is_ok());
  log::get(log::Module::kBroker).debug("broker: debug after, shown");
  log::get(log::Module::kStore).info("store: info after, hidden");
  log::get(log::Module::kStore).warn("store: warn after, shown");

  // An invalid set changes nothing.
  levels.module_levels = {{"brokr", "trace"}};
  EXPECT_EQ(set_log_levels(levels).code(), StatusCode::kInvalidArgument);
  log::get(log::Module::kBroker).debug("broker: debug still shown");
  log::get(log::Module::kBroker).trace("broker: trace still hidden");
  flush_logs();

  const std::string text = gw::testing::read_file(o.file);
  EXPECT_NE(text.find("broker: debug after, shown"), std::string::npos) << text;
  EXPECT_NE(text.find("store: warn after, shown"), std::string::npos) << text;
  EXPECT_NE(text.find("broker: debug still shown"), std::string::npos) << text;
  EXPECT_EQ(text.find("hidden"), std::string::npos) << text;
  EXPECT_FALSE(std::filesystem::exists(levels.file));
}

}  // namespace
}  // namespace gw::telemetry
