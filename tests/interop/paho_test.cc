// Interop with the Eclipse Paho C client (MQTTClient, libpaho-mqtt3c):
// v3.1.1 and v5 publishers and subscribers against the in-process broker.
// Each test counts what arrived and compares payloads and MQTT 5 properties
// byte for byte.
#include <MQTTClient.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gateway/broker/broker.h"

namespace gw::broker {
namespace {

class CountingSink : public IngressSink {
 public:
  void on_publish(const Message& msg, Done done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      messages_.push_back(msg);
    }
    done(Status::ok());
  }
  std::vector<Message> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }

 private:
  std::mutex mu_;
  std::vector<Message> messages_;
};

// One Paho MQTTClient; destroyed (and disconnected) with the object.
class Paho {
 public:
  Paho(uint16_t port, const std::string& id, int version) : version_(version) {
    MQTTClient_createOptions co = MQTTClient_createOptions_initializer;
    co.MQTTVersion = version;
    const std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
    rc_ = MQTTClient_createWithOptions(&c_, uri.c_str(), id.c_str(), MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
  }
  ~Paho() {
    if (connected_) {
      if (version_ == MQTTVERSION_5) {
        MQTTClient_disconnect5(c_, 1000, MQTTREASONCODE_SUCCESS, nullptr);
      } else {
        MQTTClient_disconnect(c_, 1000);
      }
    }
    MQTTClient_destroy(&c_);
  }
  Paho(const Paho&) = delete;
  Paho& operator=(const Paho&) = delete;

  int connect() {
    if (rc_ != MQTTCLIENT_SUCCESS) return rc_;
    if (version_ == MQTTVERSION_5) {
      MQTTClient_connectOptions o = MQTTClient_connectOptions_initializer5;
      o.cleanstart = 1;
      MQTTResponse r = MQTTClient_connect5(c_, &o, nullptr, nullptr);
      const int rc = r.reasonCode;
      MQTTResponse_free(r);
      connected_ = rc == MQTTCLIENT_SUCCESS;
      return rc;
    }
    MQTTClient_connectOptions o = MQTTClient_connectOptions_initializer;
    o.MQTTVersion = MQTTVERSION_3_1_1;
    const int rc = MQTTClient_connect(c_, &o);
    connected_ = rc == MQTTCLIENT_SUCCESS;
    return rc;
  }
  int subscribe(const char* filter, int qos) {
    if (version_ == MQTTVERSION_5) {
      MQTTResponse r = MQTTClient_subscribe5(c_, filter, qos, nullptr, nullptr);
      const int rc = r.reasonCode;
      MQTTResponse_free(r);
      return rc;  // the granted QoS
    }
    return MQTTClient_subscribe(c_, filter, qos);
  }
  // Publishes and waits for completion (PUBACK / PUBCOMP).
  int publish(const std::string& topic, const std::string& payload, int qos, MQTTProperties* props = nullptr) {
    MQTTClient_deliveryToken token = 0;
    int rc;
    if (version_ == MQTTVERSION_5) {
      MQTTResponse r = MQTTClient_publish5(c_, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, 0,
                                           props, &token);
      rc = r.reasonCode;
      MQTTResponse_free(r);
    } else {
      rc = MQTTClient_publish(c_, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, 0, &token);
    }
    if (rc != MQTTCLIENT_SUCCESS || qos == 0) return rc;
    return MQTTClient_waitForCompletion(c_, token, 5000);
  }
  struct Received {
    std::string topic;
    std::string payload;
    int qos = 0;
    std::vector<std::pair<std::string, std::string>> user;
    std::string content_type;
    std::string response_topic;
    std::string correlation;
  };
  // The next message, or nullopt after 5 s.
  std::optional<Received> receive() {
    char* topic = nullptr;
    int len = 0;
    MQTTClient_message* m = nullptr;
    if (MQTTClient_receive(c_, &topic, &len, &m, 5000) != MQTTCLIENT_SUCCESS || m == nullptr) {
      if (topic != nullptr) MQTTClient_free(topic);
      return std::nullopt;
    }
    Received r;
    r.topic = len > 0 ? std::string(topic, static_cast<size_t>(len)) : std::string(topic);
    r.payload.assign(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen));
    r.qos = m->qos;
    for (int i = 0; i < m->properties.count; ++i) {
      const MQTTProperty& p = m->properties.array[i];
      auto s = [](const MQTTLenString& l) { return std::string(l.data, static_cast<size_t>(l.len)); };
      switch (p.identifier) {
        case MQTTPROPERTY_CODE_USER_PROPERTY: r.user.emplace_back(s(p.value.data), s(p.value.value)); break;
        case MQTTPROPERTY_CODE_CONTENT_TYPE: r.content_type = s(p.value.data); break;
        case MQTTPROPERTY_CODE_RESPONSE_TOPIC: r.response_topic = s(p.value.data); break;
        case MQTTPROPERTY_CODE_CORRELATION_DATA: r.correlation = s(p.value.data); break;
        default: break;
      }
    }
    MQTTClient_freeMessage(&m);
    MQTTClient_free(topic);
    return r;
  }

 private:
  MQTTClient c_ = nullptr;
  int version_;
  int rc_ = MQTTCLIENT_FAILURE;
  bool connected_ = false;
};

class PahoInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    BrokerOptions o;
    o.listeners = {ListenerOptions{"local", "127.0.0.1", 0}};
    auto b = Broker::create(std::move(o), sink_, SystemClock::instance());
    ASSERT_TRUE(b.is_ok()) << b.status().to_string();
    broker_ = std::move(b).value();
    ASSERT_TRUE(broker_->start().is_ok());
    port_ = broker_->bound_port("local");
  }
  CountingSink sink_;
  std::unique_ptr<Broker> broker_;
  uint16_t port_ = 0;
};

TEST_F(PahoInterop, V311Qos0And1) {
  Paho sub(port_, "paho-sub-311", MQTTVERSION_3_1_1);
  ASSERT_EQ(sub.connect(), MQTTCLIENT_SUCCESS);
  ASSERT_EQ(sub.subscribe("interop/#", 1), MQTTCLIENT_SUCCESS);
  Paho pub(port_, "paho-pub-311", MQTTVERSION_3_1_1);
  ASSERT_EQ(pub.connect(), MQTTCLIENT_SUCCESS);
  constexpr int kCount = 20;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(pub.publish("interop/" + std::to_string(i), std::string("m\0-", 3) + std::to_string(i), i % 2),
              MQTTCLIENT_SUCCESS);
  }
  int arrived = 0;
  for (int i = 0; i < kCount; ++i) {
    auto r = sub.receive();
    ASSERT_TRUE(r) << "only " << arrived << " of " << kCount << " arrived";
    ++arrived;
    EXPECT_EQ(r->topic, "interop/" + std::to_string(i));  // one publisher: in order
    EXPECT_EQ(r->payload, std::string("m\0-", 3) + std::to_string(i));
    EXPECT_EQ(r->qos, i % 2);
  }
  EXPECT_EQ(arrived, kCount);
  EXPECT_EQ(sink_.messages().size(), static_cast<size_t>(kCount));
}

TEST_F(PahoInterop, V5Qos2WithPropertiesByteForByte) {
  Paho sub(port_, "paho-sub-5", MQTTVERSION_5);
  ASSERT_EQ(sub.connect(), MQTTCLIENT_SUCCESS);
  ASSERT_EQ(sub.subscribe("req/#", 2), 2);  // granted QoS 2
  Paho pub(port_, "paho-pub-5", MQTTVERSION_5);
  ASSERT_EQ(pub.connect(), MQTTCLIENT_SUCCESS);

  const std::vector<std::pair<std::string, std::string>> user = {
      {"line", "3"}, {"line", "4"}, {"unicode", "\xc3\xbc\xe2\x82\xac"}, {"", "empty-key"}};
  const std::string correlation("\x00\x01\xff corr", 8);
  MQTTProperties props = MQTTProperties_initializer;
  for (const auto& [k, v] : user) {
    MQTTProperty p{};
    p.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
    p.value.data = {static_cast<int>(k.size()), const_cast<char*>(k.data())};
    p.value.value = {static_cast<int>(v.size()), const_cast<char*>(v.data())};
    ASSERT_EQ(MQTTProperties_add(&props, &p), 0);
  }
  MQTTProperty ct{};
  ct.identifier = MQTTPROPERTY_CODE_CONTENT_TYPE;
  ct.value.data = {16, const_cast<char*>("application/json")};
  ASSERT_EQ(MQTTProperties_add(&props, &ct), 0);
  MQTTProperty rt{};
  rt.identifier = MQTTPROPERTY_CODE_RESPONSE_TOPIC;
  rt.value.data = {10, const_cast<char*>("resp/paho1")};
  ASSERT_EQ(MQTTProperties_add(&props, &rt), 0);
  MQTTProperty cd{};
  cd.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA;
  cd.value.data = {static_cast<int>(correlation.size()), const_cast<char*>(correlation.data())};
  ASSERT_EQ(MQTTProperties_add(&props, &cd), 0);

  constexpr int kCount = 5;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(pub.publish("req/" + std::to_string(i), "{\"n\":" + std::to_string(i) + "}", 2, &props),
              MQTTCLIENT_SUCCESS);
  }
  MQTTProperties_free(&props);
  for (int i = 0; i < kCount; ++i) {
    auto r = sub.receive();
    ASSERT_TRUE(r) << "only " << i << " of " << kCount << " arrived";
    EXPECT_EQ(r->topic, "req/" + std::to_string(i));
    EXPECT_EQ(r->payload, "{\"n\":" + std::to_string(i) + "}");
    EXPECT_EQ(r->qos, 2);
    EXPECT_EQ(r->user, user);  // order and repeats kept
    EXPECT_EQ(r->content_type, "application/json");
    EXPECT_EQ(r->response_topic, "resp/paho1");
    EXPECT_EQ(r->correlation, correlation);
  }
  const auto stored = sink_.messages();
  ASSERT_EQ(stored.size(), static_cast<size_t>(kCount));  // QoS 2: exactly once into the sink
  EXPECT_EQ(stored[0].properties.user, (std::vector<UserProperty>(user.begin(), user.end())));
  EXPECT_EQ(*stored[0].properties.correlation_data, correlation);
}

}  // namespace
}  // namespace gw::broker
