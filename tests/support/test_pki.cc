#include "tests/support/test_pki.h"

#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace gw::testing {
namespace fs = std::filesystem;

namespace {

void run_openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r = run_command(argv, std::chrono::seconds(30));
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.out;
}

void make_readable(const fs::path& p) {
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
}

}  // namespace

TestPki::TestPki(const fs::path& dir, const std::string& name) : dir_(dir), name_(name) {
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  ca_ = {dir_ / (name_ + "-ca.crt"), dir_ / (name_ + "-ca.key")};
  run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
               ca_.key.string(), "-out", ca_.cert.string(), "-days", "1", "-subj", "/CN=" + name_ + " test CA",
               "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  make_readable(ca_.key);
  make_readable(ca_.cert);
  server_ = issue(name_ + "-server", "localhost",
                  "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
}

CertPair TestPki::issue_client(const std::string& cn) {
  return issue(name_ + "-client-" + cn, cn, "extendedKeyUsage=clientAuth\n");
}

CertPair TestPki::issue(const std::string& stem, const std::string& cn, const std::string& extensions) {
  CertPair out{dir_ / (stem + ".crt"), dir_ / (stem + ".key")};
  const fs::path csr = dir_ / (stem + ".csr");
  const fs::path ext = dir_ / (stem + ".ext");
  write_file(ext, extensions);
  run_openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
               out.key.string(), "-out", csr.string(), "-subj", "/CN=" + cn});
  run_openssl({"x509", "-req", "-in", csr.string(), "-CA", ca_.cert.string(), "-CAkey", ca_.key.string(),
               "-CAcreateserial", "-out", out.cert.string(), "-days", "1", "-extfile", ext.string()});
  make_readable(out.key);
  make_readable(out.cert);
  return out;
}

}  // namespace gw::testing
