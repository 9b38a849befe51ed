// libFuzzer target: the broker's connection state machine (sans-IO). The
// input is cut into chunks fed to Connection::on_bytes(); between chunks the
// fake clock moves, pending sink completions are answered (OK or refused),
// and messages are delivered back to the client, so every flow (QoS 1/2 in
// both directions, acks, keep-alive, takeover) can be reached.
//
// Input: byte 0 picks the CONNECT sent first (none, 3.1.1, 5.0) and the
// limits; then repeated [len][len bytes] chunks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "gateway/broker/connection.h"
#include "gateway/mqtt/codec.h"
#include "tests/support/fake_clock.h"

namespace {

using namespace gw;
using namespace gw::broker;

class Host final : public ConnectionHost {
 public:
  ConnectDecision on_connect(Connection&, const mqtt::Connect&) override { return {}; }
  void ingest(Connection&, Message msg, uint64_t token, std::optional<uint16_t>) override {
    if (token != 0) tokens.push_back(token);
    echo.push_back(std::move(msg));
  }
  void route(const Message&, const Connection*) override {}
  bool subscribe(Connection&, const std::string&, const SubscriptionOptions&) override { return true; }
  void send_retained(Connection&, const std::string&, const SubscriptionOptions&, bool) override {}
  bool unsubscribe(Connection&, const std::string&) override { return true; }
  bool may_publish(const Connection&, const std::string& topic) override { return topic.find("deny") == std::string::npos; }
  bool may_subscribe(const Connection&, std::string_view filter) override {
    return filter.find("deny") == std::string_view::npos;
  }
  void on_disconnect(Connection&, std::optional<WillMessage>, uint32_t, SessionState) override { ++disconnects; }

  std::vector<uint64_t> tokens;
  std::vector<Message> echo;
  int disconnects = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  gw::testing::FakeClock clock;
  Host host;
  ConnectionOptions o;
  o.max_packet_size = 4096;
  o.receive_maximum = static_cast<uint16_t>(1 + (mode >> 4));
  o.max_inflight = 1 + ((mode >> 2) & 3);
  o.max_queued_messages = 4;
  o.max_topic_levels = (mode & 0x80) ? 3 : 0;
  o.max_topic_length = 64;
  o.cert_cn_as_username = (mode & 0x40) != 0;
  Connection conn(1, o, host, clock);
  conn.set_cert_cn("fuzz-cn");
  if ((mode & 3) != 0) {
    mqtt::Connect c;
    c.version = (mode & 3) == 1 ? mqtt::ProtocolVersion::kV311 : mqtt::ProtocolVersion::kV5;
    c.client_id = "fuzz";
    c.keep_alive_s = 10;
    std::string bytes;
    mqtt::encode(c, bytes);
    conn.on_bytes(bytes);
  }
  size_t pos = 1;
  bool refuse = false;
  while (pos < size && !conn.close_requested()) {
    const size_t len = std::min<size_t>(data[pos], size - pos - 1);
    conn.on_bytes(std::string_view(reinterpret_cast<const char*>(data + pos + 1), len));
    pos += 1 + len;
    // Answer half of the pending completions, alternating OK and refusal.
    while (host.tokens.size() > 1) {
      const uint64_t t = host.tokens.back();
      host.tokens.pop_back();
      conn.on_ingest_done(t, refuse ? resource_exhausted("full") : Status::ok());
      refuse = !refuse;
    }
    // Deliver what came in back out, at its QoS (outbound flows).
    for (const Message& m : host.echo) conn.deliver(m, m.qos, m.retain, {7});
    host.echo.clear();
    clock.advance(std::chrono::seconds(3));
    conn.on_tick(clock.now());
    (void)conn.take_output();
    (void)conn.wants_read();
  }
  for (uint64_t t : host.tokens) conn.on_ingest_done(t, Status::ok());
  conn.on_transport_closed();
  if (host.disconnects > 1) abort();  // the host hears of the end once
  return 0;
}
