// Writes the seed corpus: one valid packet of every type in 3.1.1 and 5.0
// (codec/) and short sessions for the connection target (connection/).
// Usage: gw_fuzz_gen_corpus OUT_DIR   (the committed corpus is its output)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/mqtt/codec.h"

namespace {

using namespace gw::mqtt;
namespace fs = std::filesystem;

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

template <typename P>
std::string enc(const P& p, ProtocolVersion v) {
  std::string out;
  encode(Packet(p), v, out);
  return out;
}

// A connection-target input: mode byte, then the packets as [len][bytes]
// chunks (split when longer than 255).
std::string session(uint8_t mode, const std::string& bytes) {
  std::string out(1, static_cast<char>(mode));
  for (size_t i = 0; i < bytes.size(); i += 255) {
    const std::string part = bytes.substr(i, 255);
    out += static_cast<char>(part.size());
    out += part;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
    const bool v5 = v == ProtocolVersion::kV5;
    const std::string tag = v5 ? "v5-" : "v311-";
    Connect c;
    c.version = v;
    c.client_id = "dev-1";
    c.clean_start = true;
    c.keep_alive_s = 30;
    c.username = "user";
    c.password = "pass";
    Will w;
    w.topic = "will/dev-1";
    w.payload = "gone";
    w.qos = 1;
    if (v5) {
      w.properties.will_delay_interval_s = 5;
      c.properties.session_expiry_interval_s = 60;
      c.properties.receive_maximum = 10;
    }
    c.will = w;
    write(out / "codec", tag + "connect", enc(c, v));
    Connack ca;
    ca.session_present = true;
    write(out / "codec", tag + "connack", enc(ca, v));
    Publish p;
    p.topic = "plant/line-1/temp";
    p.payload = "{\"t\":21.5}";
    p.qos = 1;
    p.packet_id = 7;
    if (v5) {
      p.properties.user = {{"line", "1"}, {"line", "2"}};
      p.properties.content_type = "application/json";
      p.properties.response_topic = "resp/1";
      p.properties.correlation_data = std::string("\x00\x01", 2);
      p.properties.topic_alias = 1;
    }
    write(out / "codec", tag + "publish-qos1", enc(p, v));
    Publish p2 = p;
    p2.qos = 2;
    p2.retain = true;
    write(out / "codec", tag + "publish-qos2", enc(p2, v));
    Publish p0;
    p0.topic = "a/b";
    p0.payload = "x";
    write(out / "codec", tag + "publish-qos0", enc(p0, v));
    write(out / "codec", tag + "puback", enc(Puback{7, ReasonCode::kSuccess, {}}, v));
    write(out / "codec", tag + "pubrec", enc(Pubrec{7, ReasonCode::kSuccess, {}}, v));
    write(out / "codec", tag + "pubrel", enc(Pubrel{7, ReasonCode::kSuccess, {}}, v));
    write(out / "codec", tag + "pubcomp", enc(Pubcomp{7, ReasonCode::kSuccess, {}}, v));
    Subscribe s;
    s.packet_id = 3;
    s.subscriptions = {{"plant/#", 1}, {"$share/g/cmd/+", 2}};
    if (v5) {
      s.subscriptions[0].no_local = true;
      s.subscriptions[0].retain_as_published = true;
      s.subscriptions[0].retain_handling = 1;
      s.properties.subscription_identifiers = {42};
    }
    write(out / "codec", tag + "subscribe", enc(s, v));
    Suback sa;
    sa.packet_id = 3;
    sa.reason_codes = {ReasonCode::kGrantedQos1, ReasonCode::kUnspecifiedError};
    write(out / "codec", tag + "suback", enc(sa, v));
    Unsubscribe u;
    u.packet_id = 4;
    u.filters = {"plant/#"};
    write(out / "codec", tag + "unsubscribe", enc(u, v));
    Unsuback ua;
    ua.packet_id = 4;
    if (v5) ua.reason_codes = {ReasonCode::kSuccess};
    write(out / "codec", tag + "unsuback", enc(ua, v));
    write(out / "codec", tag + "pingreq", enc(Pingreq{}, v));
    write(out / "codec", tag + "pingresp", enc(Pingresp{}, v));
    Disconnect d;
    if (v5) d.reason_code = ReasonCode::kDisconnectWithWillMessage;
    write(out / "codec", tag + "disconnect", enc(d, v));
    if (v5) {
      Auth a;
      a.reason_code = ReasonCode::kContinueAuthentication;
      a.properties.authentication_method = "SCRAM-SHA-1";
      write(out / "codec", tag + "auth", enc(a, v));
    }

    // Sessions for the connection target (mode 1: 3.1.1 CONNECT sent by the
    // harness, 2: 5.0; 0: the input starts with its own CONNECT).
    const uint8_t mode = v5 ? 0x32 : 0x31;
    Publish denied = p;
    denied.topic = "deny/x";
    Publish deep = p0;
    deep.topic = "a/b/c/d/e";
    write(out / "connection", tag + "flows",
          session(mode, enc(s, v) + enc(p, v) + enc(p2, v) + enc(Pubrel{7, ReasonCode::kSuccess, {}}, v) +
                            enc(Puback{1, ReasonCode::kSuccess, {}}, v) + enc(Pubrec{2, ReasonCode::kSuccess, {}}, v) +
                            enc(Pubcomp{2, ReasonCode::kSuccess, {}}, v) + enc(Pingreq{}, v) + enc(u, v) +
                            enc(d, v)));
    write(out / "connection", tag + "denied-and-limits", session(mode | 0x80, enc(denied, v) + enc(deep, v) + enc(s, v)));
    write(out / "connection", tag + "own-connect", session(0x00, enc(c, v) + enc(p0, v)));
  }
  return 0;
}
