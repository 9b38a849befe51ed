#include "gateway/mqtt/packet.h"

#include <utility>

namespace gw::mqtt {

Message to_message(Publish&& p, ProtocolVersion version) {
  Message m;
  m.topic = std::move(p.topic);
  m.payload = std::move(p.payload);
  m.qos = p.qos;
  m.retain = p.retain;
  m.properties = take_message_properties(p.properties);
  m.protocol_version = static_cast<uint8_t>(version);
  return m;
}

Publish to_publish(const Message& m) {
  Publish p;
  p.topic = m.topic;
  p.payload = m.payload;
  p.qos = m.qos;
  p.retain = m.retain;
  put_message_properties(MessageProperties(m.properties), p.properties);
  return p;
}

}  // namespace gw::mqtt
