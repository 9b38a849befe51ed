// scan_frame(): incremental framing over a byte stream (§2.1.4, §1.5.5).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/mqtt/codec.h"
#include "tests/unit/mqtt/test_bytes.h"

namespace gw::mqtt {
namespace {

using testing::bytes;
constexpr size_t kNoLimit = 1u << 30;

TEST(FramingTest, NeedsAtLeastTwoBytes) {
  EXPECT_EQ(scan_frame("", kNoLimit).state, FrameState::kNeedMore);
  EXPECT_EQ(scan_frame(bytes({0xC0}), kNoLimit).state, FrameState::kNeedMore);
}

TEST(FramingTest, CompletePacketReportsItsSize) {
  const FrameResult f = scan_frame(bytes({0xC0, 0x00}), kNoLimit);
  EXPECT_EQ(f.state, FrameState::kComplete);
  EXPECT_EQ(f.size, 2u);
  EXPECT_EQ(f.header_size, 2u);
}

TEST(FramingTest, StopsAtTheFirstPacketOfSeveral) {
  // PUBACK (4 bytes) followed by the start of a PINGREQ.
  const FrameResult f = scan_frame(bytes({0x40, 0x02, 0x00, 0x01, 0xC0}), kNoLimit);
  EXPECT_EQ(f.state, FrameState::kComplete);
  EXPECT_EQ(f.size, 4u);
}

TEST(FramingTest, WaitsForTheRestOfTheBody) {
  EXPECT_EQ(scan_frame(bytes({0x40, 0x02, 0x00}), kNoLimit).state, FrameState::kNeedMore);
}

TEST(FramingTest, WaitsForTheRestOfAMultiByteLength) {
  // 0x80 has the continuation bit: the length goes on.
  EXPECT_EQ(scan_frame(bytes({0x30, 0x80}), kNoLimit).state, FrameState::kNeedMore);
  EXPECT_EQ(scan_frame(bytes({0x30, 0x80, 0x80, 0x80}), kNoLimit).state, FrameState::kNeedMore);
}

TEST(FramingTest, FifthLengthByteIsMalformed) {
  const FrameResult f = scan_frame(bytes({0x30, 0x80, 0x80, 0x80, 0x80}), kNoLimit);
  EXPECT_EQ(f.state, FrameState::kError);
  EXPECT_EQ(f.reason_code, ReasonCode::kMalformedPacket);
  EXPECT_FALSE(f.message.empty());
}

TEST(FramingTest, LargestLengthIsAcceptedAndAwaited) {
  // FF FF FF 7F = 268435455, the largest remaining length (§1.5.5).
  const FrameResult f = scan_frame(bytes({0x30, 0xFF, 0xFF, 0xFF, 0x7F}), kNoLimit);
  EXPECT_EQ(f.state, FrameState::kNeedMore);
}

TEST(FramingTest, OversizePacketIsRejectedAsSoonAsTheLengthIsKnown) {
  // 2 header bytes + 10 body bytes = 12 > 11; no body byte has arrived yet.
  const FrameResult f = scan_frame(bytes({0x30, 0x0A}), 11);
  EXPECT_EQ(f.state, FrameState::kError);
  EXPECT_EQ(f.reason_code, ReasonCode::kPacketTooLarge);
}

TEST(FramingTest, PacketOfExactlyMaxSizeIsAccepted) {
  std::string wire = bytes({0x30, 0x0A, 0x00, 0x01, 't'}) + std::string(7, 'x');
  const FrameResult f = scan_frame(wire, 12);
  EXPECT_EQ(f.state, FrameState::kComplete);
  EXPECT_EQ(f.size, 12u);
}

// Feeds a stream of several packets one byte at a time, framing and decoding
// whatever is complete after each byte, and checks every packet comes out
// once, whole and in order.
TEST(FramingTest, ByteByByteStreamYieldsEveryPacket) {
  std::vector<Packet> sent;
  Publish big;
  big.topic = "plant/line1/temp";
  big.payload.assign(300, 'p');  // two-byte remaining length
  big.qos = 1;
  big.packet_id = 77;
  big.properties.user = {{"unit", "C"}};
  sent.emplace_back(big);
  sent.emplace_back(Pingreq{});
  Subscribe sub;
  sub.packet_id = 5;
  sub.subscriptions = {{"a/#", 1, true, false, 1}};
  sent.emplace_back(sub);
  sent.emplace_back(Puback{77, ReasonCode::kSuccess, {}});
  sent.emplace_back(Disconnect{ReasonCode::kServerShuttingDown, {}});

  std::string stream;
  for (const Packet& p : sent) encode(p, ProtocolVersion::kV5, stream);

  std::string buffer;
  std::vector<Packet> received;
  for (char c : stream) {
    buffer.push_back(c);
    for (;;) {
      const FrameResult f = scan_frame(buffer, kNoLimit);
      ASSERT_NE(f.state, FrameState::kError);
      if (f.state == FrameState::kNeedMore) break;
      DecodeResult r = decode(std::string_view(buffer).substr(0, f.size), ProtocolVersion::kV5);
      ASSERT_TRUE(r.is_ok()) << r.error().message;
      received.push_back(std::move(r).packet());
      buffer.erase(0, f.size);
    }
  }
  EXPECT_TRUE(buffer.empty());
  ASSERT_EQ(received.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_TRUE(received[i] == sent[i]) << "packet " << i;
}

}  // namespace
}  // namespace gw::mqtt
