#include "gateway/core/message.h"

#include <gtest/gtest.h>

namespace gw {
namespace {

TEST(MessageProperties, EncodeDecodeRoundTripKeepsOrderAndRepeats) {
  MessageProperties p;
  p.user = {{"severity", "high"}, {"line", "3"}, {"severity", "low"}, {"", ""}};
  p.content_type = "application/json";
  p.payload_format = 1;
  p.message_expiry_s = 3600;
  p.response_topic = "reply/to";
  p.correlation_data = std::string("\x00\x01\xff", 3);
  auto decoded = MessageProperties::decode(p.encode());
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, p);
}

TEST(MessageProperties, EmptyEncodesToNothing) {
  EXPECT_EQ(MessageProperties{}.encode(), "");
  auto d = MessageProperties::decode("");
  ASSERT_TRUE(d.is_ok());
  EXPECT_TRUE(d->empty());
}

TEST(MessageProperties, TruncatedInputIsDataLoss) {
  MessageProperties p;
  p.user = {{"k", "v"}};
  std::string bytes = p.encode();
  for (size_t n = 1; n < bytes.size(); ++n) {
    auto d = MessageProperties::decode(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(d.is_ok()) << n;
  }
  EXPECT_FALSE(MessageProperties::decode("\x09").is_ok());
}

}  // namespace
}  // namespace gw
