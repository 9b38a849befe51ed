#include "gateway/uplink/envelope.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <random>

namespace gw::uplink {
namespace {

using Json = nlohmann::ordered_json;

store::StoredRow full_row() {
  store::StoredRow r;
  r.seq = 42;
  r.uplink = "cloud";
  r.route = "alarms";
  r.cloud_topic = "dt/gw1/alarms";
  r.message.topic = "plant/a/alarm/1";
  r.message.payload = R"({"t": 21.5, "b":[1,2]})";
  r.message.qos = 1;
  r.message.retain = true;
  r.message.client_id = "dev-1";
  r.message.username = "alice";
  r.message.received_at_ms = 1700000000123;
  r.message.properties.user = {{"severity", "high"}, {"line", "3"}, {"severity", "again"}};
  r.message.properties.content_type = "application/json";
  r.message.properties.payload_format = 1;
  r.message.properties.message_expiry_s = 60;
  r.message.properties.response_topic = "reply/here";
  r.message.properties.correlation_data = std::string("\x00\x01\xff", 3);
  return r;
}

TEST(EnvelopeTest, LineHasExactFieldNamesInOrder) {
  const std::string line = encode_line(full_row());
  // The payload is spliced verbatim (spacing and key order as the device sent it).
  EXPECT_EQ(line,
            R"({"seq":42,"topic":"plant/a/alarm/1","cloud_topic":"dt/gw1/alarms","ts":1700000000123,"qos":1,)"
            R"("retain":true,"client_id":"dev-1","username":"alice","route":"alarms",)"
            R"("props":[["severity","high"],["line","3"],["severity","again"]],)"
            R"("content_type":"application/json","payload_format":1,"expiry_s":60,)"
            R"("response_topic":"reply/here","correlation_data_b64":"AAH/","payload":{"t": 21.5, "b":[1,2]}})");
  EXPECT_TRUE(Json::accept(line));
}

TEST(EnvelopeTest, MinimalLineOmitsAbsentFields) {
  store::StoredRow r;
  r.seq = 7;
  r.route = "telemetry";
  r.message.topic = "plant/x";
  r.message.payload = std::string("\x01\x02", 2) + "binary";
  r.message.client_id = "c";
  r.message.received_at_ms = 5;
  EXPECT_EQ(encode_line(r),
            R"({"seq":7,"topic":"plant/x","ts":5,"qos":0,"client_id":"c","route":"telemetry","payload_b64":"AQJiaW5hcnk="})");
}

TEST(EnvelopeTest, InlineJsonOnlyWhenValid) {
  struct Case {
    std::string payload;
    bool inline_json;
  };
  const std::vector<Case> cases = {
      {"{}", true},
      {"42", true},
      {"\"str\"", true},
      {"[1, {\"a\": null}]", true},
      {" {\"a\":1} ", true},
      {"", false},
      {"hello", false},
      {"{\"a\":", false},
      {"{\"a\":1} trailing", false},
      {"\xEF\xBB\xBF{}", false},      // BOM
      {"\"\xff\xfe\"", false},        // ill-formed UTF-8 in a string
      {"{\"a\":\"line\nbreak\"}", false},  // raw newline inside a string is invalid JSON
  };
  for (const auto& c : cases) {
    EXPECT_EQ(is_inline_json(c.payload), c.inline_json) << c.payload;
  }
}

TEST(EnvelopeTest, MultiLineJsonPayloadStaysOnOneLine) {
  store::StoredRow r;
  r.seq = 1;
  r.message.payload = "{\r\n  \"a\": [1,\n 2]\n}\n";
  const std::string line = encode_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  const Json j = Json::parse(line);
  EXPECT_EQ(j["payload"], Json::parse(r.message.payload));
}

TEST(EnvelopeTest, NonUtf8TopicIsReplacedNotThrown) {
  store::StoredRow r;
  r.message.topic = "bad\xff";
  const std::string line = encode_line(r);
  EXPECT_TRUE(Json::accept(line));
}

// What nlohmann::json::accept decided before the scanner replaced it, case
// by case (envelope_diff_test.cc compares the two over generated corpora).
TEST(EnvelopeTest, InlineJsonEdgeCases) {
  const std::string big_int = "1" + std::string(308, '0');  // 1e308
  struct Case {
    std::string payload;
    bool inline_json;
  };
  const std::vector<Case> cases = {
      // Numbers: RFC 8259 grammar only.
      {"0", true},
      {"-0", true},
      {"-", false},
      {"01", false},
      {"-01", false},
      {"1.", false},
      {".5", false},
      {"+1", false},
      {"1e", false},
      {"1e+", false},
      {"1E+2", true},
      {"0e0000000000000000000001", true},
      {"18446744073709551616", true},  // 2^64: past uint64, still a double
      // ... and a number that overflows a double is refused (nlohmann's
      // parser error 406), however it is written. The threshold is halfway
      // between DBL_MAX and 2^1024.
      {"1e308", true},
      {"1.7976931348623158e308", true},
      {"1.7976931348623159e308", false},
      {"-1.7976931348623159e308", false},
      {"1e309", false},
      {"0.1e310", false},
      {"0.1e309", true},
      {"0e99999999999999999999", true},
      {"1e-99999999999999999999", true},  // underflow is fine: 0
      {big_int, true},
      {big_int + "0", false},
      {"[1, 2e400]", false},
      // Strings: escapes, surrogates, control characters, UTF-8.
      {R"("\u0000")", true},
      {R"("\/\b\f\n\r\t\"\\")", true},
      {R"("\x")", false},
      {R"("\u12")", false},
      {R"("\ud83d\ude00")", true},
      {R"("\uD83D\uDE00")", true},
      {R"("\ud83d")", false},        // high surrogate alone
      {R"("\ud83d\u0041")", false},  // ... or followed by a non-low one
      {R"("\ud83d\n")", false},
      {R"("\ude00")", false},        // low surrogate alone
      {R"("\ude00\ud83d")", false},  // ... or in the wrong order
      {"\"\x7f\"", true},            // DEL needs no escape
      {"\"\x1f\"", false},
      {"\"\t\"", false},
      {"\"\xf0\x9f\x98\x80\"", true},
      {"\"\xc0\x80\"", false},      // overlong NUL
      {"\"\xed\xa0\x80\"", false},  // a surrogate in UTF-8
      {"\"\xf4\x90\x80\x80\"", false},
      {"\"\xf0\x9f\x98\"", false},  // cut short
      // Structure.
      {" ", false},
      {"[1,]", false},
      {"{\"a\":1,}", false},
      {"{\"a\"}", false},
      {"{1:2}", false},
      {"[] []", false},
      {"true false", false},
      {"nul", false},
      {"/* c */ 1", false},  // no comments
      {"\xEF\xBB", false},
      {"\xEF\xBB\xBF", false},
      {std::string(1000, '[') + std::string(1000, ']'), true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(is_inline_json(c.payload), c.inline_json) << c.payload;
  }
}

// How a string that is not UTF-8 (here a topic) is written: each
// ill-formed piece is one U+FFFD, where a piece is a byte that cannot start
// a sequence, or a valid start with the valid bytes after it up to the one
// that breaks it (read again on its own), or up to the end of the string.
TEST(EnvelopeTest, StringsAreEscapedAndRepairedLikeNlohmann) {
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"plain/topic", "plain/topic"},
      {"\"\\/", "\\\"\\\\/"},  // '/' is not escaped
      {"\b\f\n\r\t", "\\b\\f\\n\\r\\t"},
      {std::string("\x00\x01\x0b\x1f\x7f", 5), "\\u0000\\u0001\\u000b\\u001f\x7f"},
      {"temp \xc2\xb0"
       "C \xe6\xb8\xa9 \xf0\x9f\x98\x80",
       "temp \xc2\xb0"
       "C \xe6\xb8\xa9 \xf0\x9f\x98\x80"},
      {"a\xff", "a" + r},
      {"\x80\xbf", r + r},                  // lone continuation bytes
      {"\xc0\x80", r + r},                  // C0 never starts a sequence
      {"\xe0\x80\x80", r + r + r},          // overlong: E0 needs A0..BF next
      {"\xed\xa0\x80", r + r + r},          // surrogate: ED needs 80..9F next
      {"\xf4\x90\x80\x80", r + r + r + r},  // beyond U+10FFFF
      {"\xf5\xf8\xff", r + r + r},
      {"\xf0\x9f\x98", r},         // cut short by the end: one
      {"\xf0\x9f\x98x", r + "x"},  // broken by 'x': one, then 'x'
      {"\xe2\x82\"", r + "\\\""},  // the breaking byte is escaped as usual
      {"\xf0\x9f\x98\xf0\x9f\x98\x80", r + "\xf0\x9f\x98\x80"},
  };
  for (const auto& [topic, escaped] : cases) {
    store::StoredRow row;
    row.message.topic = topic;
    const std::string line = encode_line(row);
    EXPECT_EQ(line, R"({"seq":0,"topic":")" + escaped +
                        R"(","ts":0,"qos":0,"client_id":"","route":"","payload_b64":""})");
    EXPECT_TRUE(Json::accept(line)) << line;
  }
}

class CompressionTest : public ::testing::TestWithParam<Compression> {};

TEST_P(CompressionTest, RoundTripJsonAndBinaryPayloads) {
  std::vector<store::StoredRow> rows;
  std::mt19937 rng(1);
  for (int i = 0; i < 50; ++i) {
    store::StoredRow r = full_row();
    r.seq = 100 + i;
    if (i % 2) {
      r.message.payload.clear();
      for (int k = 0; k < 40; ++k) r.message.payload += static_cast<char>(rng() & 0xff);
    } else {
      r.message.payload = "{\"i\":" + std::to_string(i) + "}";
    }
    rows.push_back(r);
  }
  std::string text;
  for (const auto& r : rows) text += encode_line(r) + "\n";
  auto packed = compress(text, GetParam());
  ASSERT_TRUE(packed.is_ok()) << packed.status().to_string();
  EXPECT_EQ(detect_compression(*packed), GetParam());
  if (GetParam() != Compression::kNone) {
    EXPECT_LT(packed->size(), text.size());
  }

  auto lines = decode_batch(*packed);
  ASSERT_TRUE(lines.is_ok()) << lines.status().to_string();
  ASSERT_EQ(lines->size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const Json j = Json::parse((*lines)[i]);
    const auto& m = rows[i].message;
    EXPECT_EQ(j["seq"], rows[i].seq);
    EXPECT_EQ(j["topic"], m.topic);
    EXPECT_EQ(j["cloud_topic"], rows[i].cloud_topic);
    EXPECT_EQ(j["ts"], m.received_at_ms);
    EXPECT_EQ(j["qos"], m.qos);
    EXPECT_EQ(j["client_id"], m.client_id);
    EXPECT_EQ(j["route"], rows[i].route);
    ASSERT_EQ(j["props"].size(), m.properties.user.size());
    for (size_t k = 0; k < m.properties.user.size(); ++k) {
      EXPECT_EQ(j["props"][k][0], m.properties.user[k].first);
      EXPECT_EQ(j["props"][k][1], m.properties.user[k].second);
    }
    EXPECT_EQ(*base64_decode(j["correlation_data_b64"].get<std::string>()), *m.properties.correlation_data);
    if (j.contains("payload")) {
      EXPECT_EQ(j["payload"], Json::parse(m.payload));
    } else {
      auto raw = base64_decode(j["payload_b64"].get<std::string>());
      ASSERT_TRUE(raw.is_ok());
      EXPECT_EQ(*raw, m.payload);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, CompressionTest,
                         ::testing::Values(Compression::kGzip, Compression::kDeflate, Compression::kNone),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(EnvelopeTest, DecodeRejectsCorruptAndTruncatedStreams) {
  auto packed = compress("{\"seq\":1}\n", Compression::kGzip);
  ASSERT_TRUE(packed.is_ok());
  std::string truncated = packed->substr(0, packed->size() - 6);
  EXPECT_EQ(decode_batch(truncated).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(decode_batch(*packed + "xx").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(decode_batch("\x1f\x8bgarbage").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(decode_batch("{\"seq\":1}\nnot json\n").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(decode_batch("{\"seq\":1}\n[1]\n").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(decode_batch("").value().size(), 0u);
  // Without the JSON check the same split: blank lines skipped, CR dropped.
  auto unchecked = decode_batch("{\"seq\":1}\r\n\nnot json\n", {.check_json = false});
  ASSERT_TRUE(unchecked.is_ok());
  EXPECT_EQ(unchecked.value(), (std::vector<std::string>{"{\"seq\":1}", "not json"}));
}

TEST(EnvelopeTest, DecodeAcceptsZlibWrappedDeflate) {
  const std::string text = "{\"seq\":1}\n{\"seq\":2}\n";
  uLongf n = compressBound(static_cast<uLong>(text.size()));
  std::string out(n, '\0');
  ASSERT_EQ(::compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(text.data()),
                        static_cast<uLong>(text.size()), 6),
            Z_OK);
  out.resize(n);
  auto lines = decode_batch(out);
  ASSERT_TRUE(lines.is_ok()) << lines.status().to_string();
  EXPECT_EQ(lines->size(), 2u);
}

TEST(EnvelopeTest, ZipBombIsBounded) {
  const std::string zeros(8u << 20, '{');
  auto packed = compress(zeros, Compression::kGzip, 9);
  ASSERT_TRUE(packed.is_ok());
  EXPECT_LT(packed->size(), 64u << 10);
  DecodeOptions opts;
  opts.max_output_bytes = 1u << 20;
  EXPECT_EQ(decode_batch(*packed, opts).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(decompress(zeros, opts).status().code(), StatusCode::kResourceExhausted);
}

TEST(EnvelopeTest, MetadataProperties) {
  BatchMetadata md;
  md.gateway_id = "gw1";
  md.batch_seq = 9;
  md.count = 3;
  md.compression = Compression::kDeflate;
  EXPECT_EQ(md.content_type, "application/x-ndjson");
  const std::vector<UserProperty> expected = {
      {"content-encoding", "deflate"}, {"gateway-id", "gw1"}, {"batch-seq", "9"}, {"count", "3"}};
  EXPECT_EQ(md.as_properties(), expected);
  md.compression = Compression::kNone;
  EXPECT_EQ(md.as_properties()[0].second, "identity");
}

TEST(EnvelopeTest, CompressionNames) {
  for (auto c : {Compression::kGzip, Compression::kDeflate, Compression::kNone}) {
    EXPECT_EQ(*parse_compression(to_string(c)), c);
  }
  EXPECT_EQ(parse_compression("zstd").status().code(), StatusCode::kInvalidArgument);
}

TEST(EnvelopeTest, Base64) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [raw, enc] : vectors) {
    EXPECT_EQ(base64_encode(raw), enc);
    EXPECT_EQ(*base64_decode(enc), raw);
  }
  EXPECT_FALSE(base64_decode("Zm9").is_ok());
  EXPECT_FALSE(base64_decode("Z=9v").is_ok());
  EXPECT_FALSE(base64_decode("Zm9*").is_ok());
}

}  // namespace
}  // namespace gw::uplink

namespace gw::uplink {
namespace {

// Found by the batcher table test: a payload "9\0<binary>" was taken for the
// JSON number 9 and spliced in whole, breaking the line.
TEST(EnvelopeTest, EmbeddedNulIsNotJson) {
  EXPECT_FALSE(is_inline_json(std::string("9\0abc", 5)));
  EXPECT_FALSE(is_inline_json(std::string("{}\0", 3)));
  store::StoredRow r;
  r.message.payload = std::string("9\0\xff", 3);
  EXPECT_TRUE(Json::accept(encode_line(r)));
  EXPECT_FALSE(decode_batch(std::string("{\"a\":1}\0x\n", 10)).is_ok());
}

}  // namespace
}  // namespace gw::uplink
