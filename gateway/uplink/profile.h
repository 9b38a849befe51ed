// CloudProfile: what differs between clouds (endpoint, connect options and
// auth, topic and metadata shaping, limits, cloud-specific error codes), as
// one interface the uplink engine drives. One implementation per plugin
// (plugins/<cloud>); the engine owns batching, retries, backoff and the
// breaker for all of them (STYLE.md §4, §5).
//
// Ownership: the Engine owns its profile (unique_ptr). Threads: every method
// is called on that engine's thread only, so implementations need no locks.
//
// Versioning: kCloudProfileApiVersion changes when this interface changes
// incompatibly; Engine::create refuses a profile built for another version.
// Version 2 added the rate limits and the downlink hooks; version 3
// read_connection_loss.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/clock.h"
#include "gateway/core/message.h"
#include "gateway/core/status.h"
#include "gateway/uplink/envelope.h"

namespace gw::uplink {

inline constexpr int kCloudProfileApiVersion = 3;

struct TlsOptions {
  bool enabled = false;
  std::string ca_file;    // PEM trust store; empty = system default
  std::string cert_file;  // client certificate (PEM), for mutual TLS
  std::string key_file;   // its private key (PEM)
  bool verify_server = true;       // check the chain and the host name
  std::vector<std::string> alpn;   // e.g. {"x-amzn-mqtt-ca"}
};

// Everything the transport needs for one connection attempt.
struct ConnectOptions {
  std::string host;  // also the TLS server name (SNI, certificate check)
  uint16_t port = 1883;
  std::string client_id;
  std::optional<std::string> username;
  std::optional<std::string> password;  // secret: never logged
  int mqtt_version = 5;                  // 4 = 3.1.1, 5 = 5.0
  std::chrono::seconds keepalive{30};
  bool clean_start = true;
  std::chrono::milliseconds connect_timeout{10'000};
  TlsOptions tls;
  // Wall-clock ms after which the credentials stop working (a SAS token);
  // the engine reconnects with fresh options before it. 0 = never.
  int64_t credentials_expire_at_ms = 0;
};

// Hard limits the batcher and engine respect. Defaults are MQTT's own.
struct Limits {
  size_t max_payload_bytes = 268'435'455 - 65'536;  // MQTT max packet, minus headroom
  size_t max_topic_bytes = 65'535;
  // Billing unit of the cloud (AWS 5 KB, Azure 4 KB); 0 = none. When set,
  // batches are sized to just under a whole number of units.
  size_t billing_unit_bytes = 0;
  // Unacknowledged publishes the cloud tolerates on one connection.
  size_t max_inflight = 10;
  // Token buckets per connection (AWS: 100 publishes/s, 512 KiB/s); 0 = none.
  double max_publishes_per_s = 0;
  double max_bytes_per_s = 0;
  // Least time between two CONNECT attempts (AWS: one per second per client id).
  std::chrono::milliseconds min_connect_interval{0};
};

// A batch ready to leave, before cloud-specific shaping.
struct OutgoingBatch {
  std::string topic;    // from the uplink's topic template (or the rows' cloud_topic)
  std::string payload;  // compressed envelope
  BatchMetadata metadata;
};

// One publish as the transport sends it (always QoS 1 from the engine), or
// one message received from the cloud (downlink).
struct Publish {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = false;
  std::optional<std::string> content_type;   // MQTT 5 only
  std::vector<UserProperty> user_properties;  // MQTT 5 only
};

// How one attempt (connect or publish) ended, as classified by the transport
// and refined by the profile. The engine decides what to do about it.
enum class Outcome : uint8_t {
  kDelivered,  // the cloud acknowledged (CONNACK success / PUBACK < 0x80)
  kRetry,      // transient: timeout, disconnected, throttled, server busy
  kReject,     // the cloud refused this payload; resending it will not help
};
std::string_view to_string(Outcome o);

struct Attempt {
  Outcome outcome = Outcome::kRetry;
  int reason_code = -1;          // MQTT reason/return code when the peer gave one, else -1
  bool throttled = false;        // a rate limit answer: slow down, don't trip the breaker
  bool connection_lost = false;  // the connection is gone; reconnect
  std::string detail;            // for logs
};

// What the engine knew when the cloud dropped an established connection.
struct ConnectionLoss {
  // Publishes awaiting their PUBACK at that moment (including the one whose
  // failure reported the loss).
  size_t unacknowledged = 0;
};

class CloudProfile {
 public:
  virtual ~CloudProfile() = default;

  // kCloudProfileApiVersion this profile was built against. Don't override.
  virtual int api_version() const { return kCloudProfileApiVersion; }
  // The config's `type:` (e.g. "mqtt", "aws_iot_core").
  virtual std::string_view type() const = 0;
  // One line for the startup log; never contains secrets.
  virtual std::string describe() const = 0;

  // Options for the next connection attempt. Called before every attempt, so
  // a profile can mint fresh credentials. Errors: kInvalidArgument
  // (misconfigured: the engine stops trying), kUnavailable (try again later).
  virtual Result<ConnectOptions> connect_options(const Clock& clock) = 0;

  virtual Limits limits() const = 0;

  // Turns a batch into the publish the cloud expects: topic rules, where the
  // metadata goes (MQTT 5 properties, a property bag in the topic, ...).
  // Errors: kInvalidArgument when the batch can never be accepted (a topic
  // the cloud forbids): the engine rejects its rows.
  virtual Result<Publish> shape(OutgoingBatch batch) const = 0;

  // Refines the transport's classification with cloud-specific knowledge
  // (e.g. AWS PUBACK 0x97 = throttled). Default: unchanged.
  virtual Attempt refine(Attempt attempt) const { return attempt; }

  // Reads the cloud closing an established connection (not the gateway's own
  // disconnects or timeouts). Some clouds say "too fast" this way: Azure IoT
  // Hub, having no negative PUBACK in MQTT 3.1.1, closes the connection right
  // after a publish it throttles. Set `throttled` to have the engine slow its
  // token buckets and resend instead of counting a breaker failure. Default:
  // unchanged (a failure).
  virtual Attempt read_connection_loss(Attempt attempt, const ConnectionLoss& loss) const {
    (void)loss;
    return attempt;
  }

  // Downlink (cloud -> device). The cloud topic filters to subscribe to for
  // the uplink's configured `from` filters. Default: the same filters (AWS,
  // generic MQTT); Azure IoT Hub allows only its C2D topic.
  virtual std::vector<std::string> downlink_subscriptions(const std::vector<std::string>& filters) const {
    return filters;
  }
  // Turns a received cloud message into the neutral form the downlink rules
  // match (Azure: the property bag in the topic becomes user properties).
  // Default: unchanged.
  virtual Publish downlink_message(Publish incoming) const { return incoming; }
};

}  // namespace gw::uplink
