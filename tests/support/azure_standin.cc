#include "tests/support/azure_standin.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <charconv>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "gateway/mqtt/codec.h"

namespace gw::testing {
namespace {

using asio::ip::tcp;
constexpr std::string_view kApiVersion = "2021-04-12";
// IoT Hub takes messages up to 256 KB; leave room for the topic and header.
constexpr size_t kMaxPacketBytes = 256 * 1024 + 8 * 1024;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string base64_decode(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0) return {};
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return {};
  size_t pad = 0;
  if (text.ends_with("==")) {
    pad = 2;
  } else if (text.ends_with('=')) {
    pad = 1;
  }
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string base64_encode(const unsigned char* data, size_t size) {
  std::string out((size + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> decode_property_bag(const std::string& bag) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= bag.size()) {
    size_t amp = bag.find('&', start);
    if (amp == std::string::npos) amp = bag.size();
    const std::string_view part = std::string_view(bag).substr(start, amp - start);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      out.emplace_back(percent_decode(part.substr(0, eq)),
                       eq == std::string_view::npos ? std::string() : percent_decode(part.substr(eq + 1)));
    }
    start = amp + 1;
  }
  return out;
}

std::string check_sas_token(const std::string& token, const std::string& resource, const std::string& key_base64,
                            int64_t now_s, int64_t* expiry_s) {
  constexpr std::string_view kPrefix = "SharedAccessSignature ";
  if (expiry_s) *expiry_s = 0;
  if (!token.starts_with(kPrefix)) return "not a SharedAccessSignature";
  // The fields are taken as written: the signature covers sr as written.
  std::string sr_raw, sig_raw, se_raw;
  std::string_view rest = std::string_view(token).substr(kPrefix.size());
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view part = rest.substr(0, amp);
    if (part.starts_with("sr=")) sr_raw = part.substr(3);
    if (part.starts_with("sig=")) sig_raw = part.substr(4);
    if (part.starts_with("se=")) se_raw = part.substr(3);
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  if (sr_raw.empty() || sig_raw.empty() || se_raw.empty()) return "sr, sig or se missing";
  int64_t se = 0;
  auto [p, ec] = std::from_chars(se_raw.data(), se_raw.data() + se_raw.size(), se);
  if (ec != std::errc() || p != se_raw.data() + se_raw.size()) return "se is not a number";
  if (expiry_s) *expiry_s = se;
  if (percent_decode(sr_raw) != resource) return "sr '" + percent_decode(sr_raw) + "' is not '" + resource + "'";
  const std::string key = base64_decode(key_base64);
  if (key.empty()) return "the stand-in's device key is not base64";
  const std::string to_sign = sr_raw + "\n" + se_raw;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(to_sign.data()),
       to_sign.size(), mac, &mac_len);
  if (percent_decode(sig_raw) != base64_encode(mac, mac_len)) return "signature does not match the device key";
  if (se <= now_s) return "token expired at " + std::to_string(se) + " (now " + std::to_string(now_s) + ")";
  return {};
}

// ---------------------------------------------------------------------------

class AzureStandIn::Impl {
 public:
  explicit Impl(const AzureStandInOptions& o) : o_(o), ssl_(asio::ssl::context::tls_server), acceptor_(io_) {
    events_prefix_ = "devices/" + o_.device_id + "/messages/events/";
    c2d_filter_ = "devices/" + o_.device_id + "/messages/devicebound/#";
  }

  uint16_t start() {
    asio::error_code ec;
    ssl_.use_certificate_chain_file(o_.cert.string(), ec);
    if (!ec) ssl_.use_private_key_file(o_.key.string(), asio::ssl::context::pem, ec);
    if (ec) {
      ADD_FAILURE() << "stand-in certificate: " << ec.message();
      return 0;
    }
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    const uint16_t port = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
    return port;
  }

  void stop() {
    asio::post(io_, [this] {
      asio::error_code ec;
      acceptor_.close(ec);
      auto sessions = sessions_;  // close() erases from sessions_
      for (auto& s : sessions) s->close("", false);
    });
    if (thread_.joinable()) thread_.join();
  }

  // ---- records (any thread) -------------------------------------------------
  mutable std::mutex mu_;
  std::vector<StandInConnect> connects_;
  std::vector<StandInTelemetry> telemetry_;
  std::vector<std::string> violations_;
  size_t expired_ = 0;
  size_t open_ = 0;
  size_t subscribed_ = 0;
  size_t c2d_acked_ = 0;
  int throttle_left_ = 0;
  int sessions_accepted_ = 0;

  bool send_c2d(const std::string& bag, const std::string& payload) {
    std::promise<bool> done;
    auto f = done.get_future();
    asio::post(io_, [&] {
      for (auto& s : sessions_) {
        if (s->subscribed()) {
          s->send_c2d("devices/" + o_.device_id + "/messages/devicebound/" + bag, payload);
          done.set_value(true);
          return;
        }
      }
      done.set_value(false);
    });
    return f.get();
  }

 private:
  // One device connection, driven on the io thread only.
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(Impl& hub, tcp::socket socket) : hub_(hub), stream_(std::move(socket), hub.ssl_), timer_(hub.io_) {}

    void start() {
      auto self = shared_from_this();
      stream_.async_handshake(asio::ssl::stream_base::server, [self](asio::error_code ec) {
        if (ec) return self->close("", false);
        self->read();
      });
    }

    bool subscribed() const { return subscribed_ && !closed_; }

    void send_c2d(const std::string& topic, const std::string& payload) {
      mqtt::Publish p;
      p.topic = topic;
      p.payload = payload;
      p.qos = 1;
      if (next_id_ == 0) next_id_ = 1;  // 0 is not a packet id
      p.packet_id = next_id_++;
      send(p);
    }

    // Closes the connection; `why` non-empty records a rule violation.
    void close(const std::string& why, bool violation = true) {
      if (closed_) return;
      closed_ = true;
      if (violation && !why.empty()) {
        std::lock_guard lock(hub_.mu_);
        hub_.violations_.push_back(why);
      }
      {
        std::lock_guard lock(hub_.mu_);
        if (accepted_) --hub_.open_;
        if (subscribed_) --hub_.subscribed_;
      }
      asio::error_code ec;
      timer_.cancel();
      stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
      stream_.lowest_layer().close(ec);
      hub_.sessions_.erase(shared_from_this());
    }

   private:
    void read() {
      auto self = shared_from_this();
      stream_.async_read_some(asio::buffer(chunk_), [self](asio::error_code ec, size_t n) {
        if (ec) return self->close("", false);
        self->buf_.append(self->chunk_.data(), n);
        self->process();
        if (!self->closed_) self->read();
      });
    }

    void process() {
      while (!closed_) {
        const mqtt::FrameResult f = mqtt::scan_frame(buf_, kMaxPacketBytes);
        if (f.state == mqtt::FrameState::kNeedMore) return;
        if (f.state == mqtt::FrameState::kError) return close("bad frame: " + std::string(f.message));
        mqtt::DecodeResult r = mqtt::decode(std::string_view(buf_).substr(0, f.size), mqtt::ProtocolVersion::kV311);
        buf_.erase(0, f.size);
        if (!r) {
          if (!accepted_ && r.error().reason_code == mqtt::ReasonCode::kUnsupportedProtocolVersion) {
            refuse_version(0);
            return;
          }
          return close("malformed packet: " + r.error().message);
        }
        handle(std::move(r).packet());
      }
    }

    void handle(mqtt::Packet p) {
      if (auto* c = std::get_if<mqtt::Connect>(&p)) return on_connect(*c);
      if (!accepted_) return close("packet before CONNECT");
      if (auto* pub = std::get_if<mqtt::Publish>(&p)) return on_publish(*pub);
      if (auto* sub = std::get_if<mqtt::Subscribe>(&p)) return on_subscribe(*sub);
      if (std::holds_alternative<mqtt::Puback>(p)) {
        std::lock_guard lock(hub_.mu_);
        ++hub_.c2d_acked_;
        return;
      }
      if (std::holds_alternative<mqtt::Pingreq>(p)) return send(mqtt::Pingresp{});
      if (std::holds_alternative<mqtt::Disconnect>(p)) return close("", false);
      close("packet type " + std::to_string(static_cast<int>(mqtt::type_of(p))) + " not supported by IoT Hub");
    }

    void refuse_version(int level) {
      StandInConnect rec;
      rec.at_ms = wall_ms();
      rec.protocol_level = level;
      rec.return_code = 1;
      rec.why = "IoT Hub speaks MQTT 3.1.1 only";
      {
        std::lock_guard lock(hub_.mu_);
        hub_.connects_.push_back(rec);
      }
      // 3.1.1 form (20 02 00 01), which 3.1.1 and 5.0 clients both read.
      mqtt::Connack ack;
      ack.reason_code = mqtt::ReasonCode::kUnsupportedProtocolVersion;
      close_after_write_ = true;
      send(ack);
    }

    void on_connect(const mqtt::Connect& c) {
      if (accepted_) return close("second CONNECT");
      if (c.version != mqtt::ProtocolVersion::kV311) return refuse_version(static_cast<int>(c.version));
      const auto& o = hub_.o_;
      StandInConnect rec;
      rec.at_ms = wall_ms();
      rec.protocol_level = 4;
      rec.client_id = c.client_id;
      rec.username = c.username.value_or("");
      const std::string want_user = o.host + "/" + o.device_id + "/?api-version=" + std::string(kApiVersion);
      mqtt::ReasonCode answer = mqtt::ReasonCode::kSuccess;
      if (c.client_id != o.device_id) {
        answer = mqtt::ReasonCode::kClientIdentifierNotValid;  // return code 2
        rec.why = "client id '" + c.client_id + "' is not the device id";
      } else if (rec.username != want_user) {
        answer = mqtt::ReasonCode::kBadUserNameOrPassword;  // 4
        rec.why = "user name '" + rec.username + "' is not '" + want_user + "'";
      } else {
        const int64_t now_s = wall_ms() / 1000;
        rec.why = check_sas_token(c.password.value_or(""), o.host + "/devices/" + o.device_id, o.device_key, now_s,
                                  &rec.token_expiry_s);
        if (!rec.why.empty()) {
          // An expired token is "not authorized" (5); a wrong one "bad user name or password" (4).
          answer = rec.why.starts_with("token expired") ? mqtt::ReasonCode::kNotAuthorized
                                                        : mqtt::ReasonCode::kBadUserNameOrPassword;
        }
      }
      rec.return_code = static_cast<int>(mqtt::to_connect_return_code(answer));
      mqtt::Connack ack;
      ack.reason_code = answer;
      {
        std::lock_guard lock(hub_.mu_);
        hub_.connects_.push_back(rec);
        if (answer == mqtt::ReasonCode::kSuccess) ++hub_.open_;
      }
      if (answer != mqtt::ReasonCode::kSuccess) {
        close_after_write_ = true;
        return send(ack);
      }
      accepted_ = true;
      {
        std::lock_guard lock(hub_.mu_);
        session_ = ++hub_.sessions_accepted_;
      }
      send(ack);
      // IoT Hub drops a connection whose token has expired.
      timer_.expires_after(std::chrono::milliseconds(rec.token_expiry_s * 1000 - wall_ms()));
      auto self = shared_from_this();
      timer_.async_wait([self](asio::error_code ec) {
        if (ec || self->closed_) return;
        {
          std::lock_guard lock(self->hub_.mu_);
          ++self->hub_.expired_;
        }
        self->close("", false);
      });
    }

    void on_publish(const mqtt::Publish& p) {
      if (!p.topic.starts_with(hub_.events_prefix_)) return close("PUBLISH to '" + p.topic + "' is not allowed");
      if (p.qos > 1) return close("PUBLISH at QoS 2 is not allowed");
      if (p.retain) return close("retained PUBLISH is not allowed");
      StandInTelemetry t;
      t.topic = p.topic;
      t.properties = decode_property_bag(p.topic.substr(hub_.events_prefix_.size()));
      t.payload = p.payload;
      t.qos = p.qos;
      t.session = session_;
      {
        std::lock_guard lock(hub_.mu_);
        if (hub_.throttle_left_ > 0) {
          --hub_.throttle_left_;
          t.throttled = true;
        }
        hub_.telemetry_.push_back(t);
      }
      if (t.throttled) return close("", false);
      if (p.qos == 1) send(mqtt::Puback{p.packet_id, mqtt::ReasonCode::kSuccess, {}});
    }

    void on_subscribe(const mqtt::Subscribe& s) {
      mqtt::Suback ack;
      ack.packet_id = s.packet_id;
      for (const auto& sub : s.subscriptions) {
        if (sub.filter == hub_.c2d_filter_) {
          ack.reason_codes.push_back(sub.qos >= 1 ? mqtt::ReasonCode::kGrantedQos1 : mqtt::ReasonCode::kGrantedQos0);
          if (!subscribed_) {
            subscribed_ = true;
            std::lock_guard lock(hub_.mu_);
            ++hub_.subscribed_;
          }
        } else {
          ack.reason_codes.push_back(mqtt::ReasonCode::kUnspecifiedError);
        }
      }
      send(ack);
    }

    template <typename P>
    void send(const P& packet) {
      std::string bytes;
      mqtt::encode(packet, mqtt::ProtocolVersion::kV311, bytes);
      out_.push_back(std::move(bytes));
      if (!writing_) write();
    }

    void write() {
      if (out_.empty() || closed_) {
        writing_ = false;
        if (close_after_write_) close("", false);
        return;
      }
      writing_ = true;
      auto self = shared_from_this();
      asio::async_write(stream_, asio::buffer(out_.front()), [self](asio::error_code ec, size_t) {
        if (ec) return self->close("", false);
        self->out_.pop_front();
        self->write();
      });
    }

    Impl& hub_;
    asio::ssl::stream<tcp::socket> stream_;
    asio::steady_timer timer_;
    std::array<char, 16 * 1024> chunk_{};
    std::string buf_;
    std::deque<std::string> out_;
    bool writing_ = false;
    bool close_after_write_ = false;
    bool accepted_ = false;
    bool subscribed_ = false;
    bool closed_ = false;
    uint16_t next_id_ = 1;
    int session_ = 0;
  };

  void accept() {
    acceptor_.async_accept([this](asio::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed
      auto s = std::make_shared<Session>(*this, std::move(socket));
      sessions_.insert(s);
      s->start();
      accept();
    });
  }

  const AzureStandInOptions& o_;
  std::string events_prefix_;
  std::string c2d_filter_;
  asio::io_context io_;
  asio::ssl::context ssl_;
  tcp::acceptor acceptor_;
  std::set<std::shared_ptr<Session>> sessions_;  // io thread only
  std::thread thread_;
};

AzureStandIn::AzureStandIn(AzureStandInOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {
  port_ = impl_->start();
}

AzureStandIn::~AzureStandIn() { impl_->stop(); }

void AzureStandIn::pause() { std::this_thread::sleep_for(std::chrono::milliseconds(25)); }

std::vector<StandInConnect> AzureStandIn::connects() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->connects_;
}

std::vector<StandInTelemetry> AzureStandIn::telemetry() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->telemetry_;
}

std::vector<std::string> AzureStandIn::violations() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->violations_;
}

size_t AzureStandIn::expired_sessions() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->expired_;
}

size_t AzureStandIn::open_sessions() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->open_;
}

bool AzureStandIn::c2d_subscribed() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->subscribed_ > 0;
}

size_t AzureStandIn::c2d_acknowledged() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->c2d_acked_;
}

bool AzureStandIn::send_c2d(const std::string& property_bag, const std::string& payload) {
  return impl_->send_c2d(property_bag, payload);
}

void AzureStandIn::set_throttle_disconnects(int n) {
  std::lock_guard lock(impl_->mu_);
  impl_->throttle_left_ = n;
}

}  // namespace gw::testing
