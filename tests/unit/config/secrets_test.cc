// ${ENV_VAR} and !file references in config values (issue 7).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "gateway/config/config.h"
#include "tests/support/process.h"

namespace gw::config {
namespace {

using gw::testing::TempDir;
using gw::testing::write_file;

std::string yaml_with(const std::string& password_value) {
  return "gateway: {id: gw1, data_dir: ./var}\n"
         "listeners: [{name: local, bind: \"127.0.0.1:0\"}]\n"
         "uplinks:\n"
         "  - name: cloud\n"
         "    host: 127.0.0.1\n"
         "    password: " + password_value + "\n";
}

std::string all(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.to_string() + "\n";
  return s;
}

TEST(Secrets, ExpandsEnvironmentVariablesInsideStrings) {
  ::setenv("GW_TEST_SECRET_A", "s3cr3t", 1);
  ::setenv("GW_TEST_HOST", "10.0.0.7", 1);
  auto r = load_string(yaml_with("\"pre-${GW_TEST_SECRET_A}-$${LITERAL}\"") +
                           "    client_id: ${GW_TEST_HOST}\n",
                       "g.yaml");
  ASSERT_TRUE(r.config) << all(r);
  EXPECT_EQ(r.config->uplinks.at(0).password, "pre-s3cr3t-${LITERAL}");
  EXPECT_EQ(r.config->uplinks.at(0).client_id, "10.0.0.7");
}

TEST(Secrets, UnsetVariableIsAnErrorAtItsPosition) {
  ::unsetenv("GW_TEST_UNSET");
  auto r = load_string(yaml_with("${GW_TEST_UNSET}"), "g.yaml");
  EXPECT_FALSE(r.config);
  EXPECT_NE(all(r).find("g.yaml:6:15: error: environment variable 'GW_TEST_UNSET' is not set"), std::string::npos)
      << all(r);
  auto bad = load_string(yaml_with("\"${not valid}\""), "g.yaml");
  EXPECT_FALSE(bad.config);
  EXPECT_NE(all(bad).find("bad environment reference"), std::string::npos) << all(bad);
}

TEST(Secrets, FileTagReadsTheFileWithoutItsTrailingNewline) {
  TempDir dir;
  write_file(dir / "cloud.pass", "from-file\n");
  ::chmod((dir / "cloud.pass").c_str(), 0640);
  auto r = load_string(yaml_with("!file cloud.pass"), "g.yaml", dir.path());
  ASSERT_TRUE(r.config) << all(r);
  EXPECT_EQ(r.config->uplinks.at(0).password, "from-file");
  EXPECT_TRUE(r.diagnostics.empty()) << all(r);
}

TEST(Secrets, WorldReadableSecretFileWarnsAndMissingFileFails) {
  TempDir dir;
  write_file(dir / "open.key", "k");
  ::chmod((dir / "open.key").c_str(), 0644);
  auto r = load_string(yaml_with("!file " + (dir / "open.key").string()), "g.yaml");
  ASSERT_TRUE(r.config) << all(r);
  EXPECT_NE(all(r).find("g.yaml:6:15: warning: secret file '" + (dir / "open.key").string() +
                        "' is readable by every user (mode 0644)"),
            std::string::npos)
      << all(r);
  EXPECT_EQ(all(r).find(": k"), std::string::npos);  // never the secret itself

  auto missing = load_string(yaml_with("!file /nonexistent/gw.key"), "g.yaml");
  EXPECT_FALSE(missing.config);
  EXPECT_NE(all(missing).find("g.yaml:6:15: error: cannot read secret file '/nonexistent/gw.key'"),
            std::string::npos)
      << all(missing);
}

TEST(Secrets, KeysAreNotExpanded) {
  ::setenv("GW_TEST_KEY", "password", 1);
  auto r = load_string("gateway: {id: gw1}\nlisteners: [{name: l, bind: \"127.0.0.1:0\"}]\n${GW_TEST_KEY}: x\n", "g.yaml");
  EXPECT_FALSE(r.config);
  EXPECT_NE(all(r).find("unknown key '${GW_TEST_KEY}'"), std::string::npos) << all(r);
}

}  // namespace
}  // namespace gw::config
