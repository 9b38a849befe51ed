#include "tests/integration/raw_mqtt_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace gw::testing {

RawMqttClient::RawMqttClient(uint16_t port, mqtt::ProtocolVersion version) : version_(version) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fd_ = fd;
}

RawMqttClient::~RawMqttClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawMqttClient::send_bytes(const std::string& bytes) {
  if (fd_ < 0) return false;
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::optional<mqtt::Packet> RawMqttClient::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const mqtt::FrameResult f = mqtt::scan_frame(input_, 16 * 1024 * 1024);
    if (f.state == mqtt::FrameState::kError) return std::nullopt;
    if (f.state == mqtt::FrameState::kComplete) {
      mqtt::DecodeResult r = mqtt::decode(std::string_view(input_).substr(0, f.size), version_);
      input_.erase(0, f.size);
      if (!r) return std::nullopt;
      return std::move(r).packet();
    }
    if (fd_ < 0) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    input_.append(buf, static_cast<size_t>(n));
  }
}

std::optional<mqtt::Connack> RawMqttClient::handshake(const std::string& client_id, bool clean_start,
                                                      mqtt::Connect connect) {
  connect.version = version_;
  connect.client_id = client_id;
  connect.clean_start = clean_start;
  if (connect.keep_alive_s == 0) connect.keep_alive_s = 60;
  if (!send(connect)) return std::nullopt;
  return expect<mqtt::Connack>();
}

}  // namespace gw::testing
