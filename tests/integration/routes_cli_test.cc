// `edge-gateway routes test` (issue 6), run as the shipped binary: the JSON it
// prints for the example configs, exit 2 with FILE:LINE:COL for a bad one,
// and every example in docs/routes.md (its YAML is in the named file, and
// each command prints the JSON shown under it).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace gw::testing {
namespace {

using nlohmann::json;

std::string gateway_binary() { return built_binary("gateway/app/edge-gateway").string(); }

// Runs `routes test` on a file of config/examples; returns exit code and stdout.
RunResult routes_test(const std::string& example, std::vector<std::string> args) {
  std::vector<std::string> argv = {gateway_binary(), "routes", "test", "--config",
                                   source_path("config/examples/" + example).string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

TEST(RoutesTestCommand, RewritesTopicAndPropertiesInOrderAndContinues) {
  const RunResult r = routes_test(
      "routes.yaml", {"--topic", "plant/s1/l2/alarm/hot", "--client-id", "plc-7", "--qos", "1",  //
                      "--prop", "severity=critical", "--prop", "debug=1", "--prop", "line=line-2",  //
                      "--prop", "temp=85", "--prop", "code=E042", "--prop", "shift=b"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // critical-alarms: both clouds, priority 9, 7 days, the rewritten topic,
  // debug removed, gateway and origin appended; continue: telemetry too,
  // with the device's own properties.
  const json own = json::parse(
      R"([["severity","critical"],["debug","1"],["line","line-2"],["temp","85"],["code","E042"],["shift","b"]])");
  const json rewritten = json::parse(
      R"([["severity","critical"],["line","line-2"],["temp","85"],["code","E042"],["shift","b"],)"
      R"(["gateway","line3-gw"],["origin","plc-7"]])");
  json expected = {
      {"matched", {"critical-alarms", "telemetry"}},
      {"deliveries",
       {{{"route", "critical-alarms"}, {"uplink", "aws"}, {"priority", 9}, {"ttl_s", 604800},
         {"topic", "alarms/line3-gw/s1/alarm"}, {"properties", rewritten}},
        {{"route", "critical-alarms"}, {"uplink", "azure"}, {"priority", 9}, {"ttl_s", 604800},
         {"topic", "alarms/line3-gw/s1/alarm"}, {"properties", rewritten}},
        {{"route", "telemetry"}, {"uplink", "aws"}, {"priority", 2}, {"ttl_s", 0}, {"topic", nullptr},
         {"properties", own}}}},
      {"republish", json::array()},
      {"dropped", false}};
  EXPECT_EQ(json::parse(r.out), expected) << r.out;
}

TEST(RoutesTestCommand, RepublishDropAndDefault) {
  RunResult r = routes_test("routes.yaml", {"--topic", "plant/s2/cmd/reset"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(json::parse(r.out), json::parse(R"({"matched":["mirror"],"deliveries":[],)"
                                            R"("republish":[{"route":"mirror","topic":"local/mirror/s2"}],)"
                                            R"("dropped":false})"))
      << r.out;

  r = routes_test("routes.yaml", {"--topic", "plant/s2/anything", "--prop", "class=debug"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(json::parse(r.out),
            json::parse(R"({"matched":["debug-noise"],"deliveries":[],"republish":[],"dropped":true})"))
      << r.out;

  r = routes_test("routes.yaml", {"--topic", "office/printer", "--prop", "k=v"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(json::parse(r.out),
            json::parse(R"({"matched":[],"deliveries":[{"route":"default_route","uplink":"aws","priority":1,)"
                        R"("ttl_s":86400,"topic":null,"properties":[["k","v"]]}],"republish":[],"dropped":false})"))
      << r.out;
}

TEST(RoutesTestCommand, InvalidConfigExitsTwoWithFileLineColumn) {
  TempDir dir;
  const auto config = dir / "bad.yaml";
  write_file(config,
             "gateway: {id: g, data_dir: /tmp}\n"
             "listeners: [{name: l, bind: 127.0.0.1:1883}]\n"
             "uplinks: [{name: aws, host: h}]\n"
             "routes:\n"
             "  - name: r\n"
             "    match: {topic: \"a/{site}\", properties: {c: {regex: \"(a+)+\"}}}\n"
             "    to: aws\n"
             "    topic: \"x/{line}\"\n");
  const RunResult r = run_command({"sh", "-c",
                                   "exec " + gateway_binary() + " routes test --config " + config.string() +
                                       " --topic a/b 2>&1"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find(config.string() + ":6:48: error: property 'c': regex '(a+)+' rejected"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(config.string() + ":8:12: error: topic: template names unknown capture or placeholder "
                                         "'{line}'"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("\"matched\""), std::string::npos) << "no decision for an invalid config";
}

// ------------------------------------------------------------ docs/routes.md

// Splits a documented command line; single quotes group words.
std::vector<std::string> shell_words(const std::string& line) {
  std::vector<std::string> out;
  std::string word;
  bool quoted = false;
  bool have = false;
  for (char c : line) {
    if (c == '\'') {
      quoted = !quoted;
      have = true;
    } else if (c == ' ' && !quoted) {
      if (have) out.push_back(word);
      word.clear();
      have = false;
    } else {
      word += c;
      have = true;
    }
  }
  if (have) out.push_back(word);
  return out;
}

TEST(RoutesDocs, EveryExampleIsFromItsFileAndPrintsWhatTheDocsShow) {
  std::istringstream doc(read_file(source_path("docs/routes.md")));
  std::string line;
  std::string from;  // the file named by the last "From `...`:" line
  int yaml_blocks = 0;
  int commands = 0;
  while (std::getline(doc, line)) {
    if (line.rfind("From `config/examples/", 0) == 0) {
      from = line.substr(6, line.find('`', 6) - 6);
      continue;
    }
    if (line == "```yaml") {
      std::string block;
      while (std::getline(doc, line) && line != "```") block += line + "\n";
      ASSERT_FALSE(from.empty()) << "a YAML example without a 'From `config/examples/...`:' line:\n" << block;
      EXPECT_NE(read_file(source_path(from)).find(block), std::string::npos)
          << "docs/routes.md shows YAML that is not in " << from << ":\n" << block;
      ++yaml_blocks;
      from.clear();
      continue;
    }
    if (line == "```console") {
      std::getline(doc, line);
      std::string output;
      const std::string command = line;
      while (std::getline(doc, line) && line != "```") output += line + "\n";
      if (command.rfind("$ edge-gateway routes test ", 0) != 0) continue;
      std::vector<std::string> argv = shell_words(command.substr(2));
      argv[0] = gateway_binary();
      for (size_t i = 1; i + 1 < argv.size(); ++i) {
        if (argv[i] == "--config") argv[i + 1] = source_path(argv[i + 1]).string();
      }
      const RunResult r = run_command(argv);
      EXPECT_EQ(r.exit_code, 0) << command;
      EXPECT_EQ(json::parse(r.out, nullptr, false), json::parse(output, nullptr, false))
          << command << "\nprints:\n" << r.out << "docs/routes.md shows:\n" << output;
      ++commands;
    }
  }
  EXPECT_GE(yaml_blocks, 8);
  EXPECT_GE(commands, 10);
}

}  // namespace
}  // namespace gw::testing
