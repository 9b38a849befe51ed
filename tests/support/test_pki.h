// A throwaway PKI for TLS tests, made with the `openssl` command line: a CA,
// a server certificate for "localhost" (SAN DNS:localhost, IP:127.0.0.1) and
// client certificates. EC P-256 keys, valid for one day. Files are
// world-readable so a broker that drops privileges can read them.
#pragma once

#include <filesystem>
#include <string>

namespace gw::testing {

struct CertPair {
  std::filesystem::path cert;
  std::filesystem::path key;
};

class TestPki {
 public:
  // Creates the CA and the server certificate in `dir`, named after `name`
  // (so two PKIs can share a folder). Failures are gtest failures.
  TestPki(const std::filesystem::path& dir, const std::string& name = "test");

  const std::filesystem::path& ca_cert() const { return ca_.cert; }
  const CertPair& server() const { return server_; }
  // Issues a client certificate with common name `cn` signed by this CA.
  CertPair issue_client(const std::string& cn);

 private:
  CertPair issue(const std::string& file_stem, const std::string& cn, const std::string& extensions);

  std::filesystem::path dir_;
  std::string name_;
  CertPair ca_;
  CertPair server_;
};

}  // namespace gw::testing
