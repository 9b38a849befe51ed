#include "gateway/core/message.h"

#include <cstring>

namespace gw {
namespace {

// Field tags of the stored property blob. Never renumber: rows on disk use them.
enum Tag : uint8_t {
  kUser = 1,
  kContentType = 2,
  kPayloadFormat = 3,
  kExpiry = 4,
  kResponseTopic = 5,
  kCorrelation = 6,
};

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool done() const { return pos_ == in_.size(); }
  bool u8(uint8_t& v) {
    if (in_.size() - pos_ < 1) return false;
    v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool u32(uint32_t& v) {
    if (in_.size() - pos_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool str(std::string& s) {
    uint32_t n = 0;
    if (!u32(n) || in_.size() - pos_ < n) return false;
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::string MessageProperties::encode() const {
  std::string out;
  for (const auto& [k, v] : user) {
    out.push_back(static_cast<char>(kUser));
    put_str(out, k);
    put_str(out, v);
  }
  if (content_type) {
    out.push_back(static_cast<char>(kContentType));
    put_str(out, *content_type);
  }
  if (payload_format) {
    out.push_back(static_cast<char>(kPayloadFormat));
    out.push_back(static_cast<char>(*payload_format));
  }
  if (message_expiry_s) {
    out.push_back(static_cast<char>(kExpiry));
    put_u32(out, *message_expiry_s);
  }
  if (response_topic) {
    out.push_back(static_cast<char>(kResponseTopic));
    put_str(out, *response_topic);
  }
  if (correlation_data) {
    out.push_back(static_cast<char>(kCorrelation));
    put_str(out, *correlation_data);
  }
  return out;
}

Result<MessageProperties> MessageProperties::decode(std::string_view bytes) {
  MessageProperties p;
  Reader r(bytes);
  while (!r.done()) {
    uint8_t tag = 0;
    bool ok = r.u8(tag);
    switch (tag) {
      case kUser: {
        UserProperty up;
        ok = ok && r.str(up.first) && r.str(up.second);
        p.user.push_back(std::move(up));
        break;
      }
      case kContentType: ok = ok && r.str(p.content_type.emplace()); break;
      case kPayloadFormat: ok = ok && r.u8(p.payload_format.emplace()); break;
      case kExpiry: ok = ok && r.u32(p.message_expiry_s.emplace()); break;
      case kResponseTopic: ok = ok && r.str(p.response_topic.emplace()); break;
      case kCorrelation: ok = ok && r.str(p.correlation_data.emplace()); break;
      default: ok = false;
    }
    if (!ok) return data_loss("stored message properties are truncated or unknown");
  }
  return p;
}

}  // namespace gw
