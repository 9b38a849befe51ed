// libFuzzer target: the MQTT codec. Frames the input, decodes every frame as
// 3.1.1 and 5.0, and re-encodes what decoded: the encoder must accept what
// the decoder produced, and decoding that again must give the same packet.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/mqtt/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using gw::mqtt::ProtocolVersion;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    const gw::mqtt::FrameResult f = gw::mqtt::scan_frame(rest, 1 << 20);
    if (f.state != gw::mqtt::FrameState::kComplete) break;
    const std::string_view frame = rest.substr(0, f.size);
    for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
      gw::mqtt::DecodeResult r = gw::mqtt::decode(frame, v);
      if (!r) continue;
      std::string again;
      gw::mqtt::encode(r.packet(), v, again);
      gw::mqtt::DecodeResult r2 = gw::mqtt::decode(again, v);
      if (!r2 || !(r2.packet() == r.packet())) abort();  // round trip must hold
    }
    rest.remove_prefix(f.size);
  }
  return 0;
}
