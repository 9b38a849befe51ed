// The few lines that copy each config section into a module's own options
// (STYLE §3: modules never see the config tree, except rules). Pure
// functions, main thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "gateway/broker/broker.h"
#include "gateway/config/config.h"
#include "gateway/core/diagnostic.h"
#include "gateway/core/message.h"
#include "gateway/store/store.h"
#include "gateway/uplink/engine.h"
#include "gateway/uplink/registry.h"

namespace gw::app {

store::StoreOptions store_options(const config::Config& cfg);
broker::BrokerOptions broker_options(const config::Config& cfg);

// Every cloud profile this binary was built with (CMake GW_PLUGIN_*).
void register_builtin_profiles(uplink::Registry& registry);

// Checks each uplink's `limits:` against its cloud profile's quota
// (ProfileFactory::max_publishes_per_s / max_bytes_per_s) and appends an
// error at the value's FILE:LINE:COL for each one above it.
void check_uplink_limits(const config::Config& cfg, std::vector<Diagnostic>& out);

// Builds the engine of one uplink with its cloud profile. Downlink messages
// (the uplink's `downlink:` rules) go to `on_downlink`, and each delivered
// batch's publish->PUBACK time to `on_publish_acked`, on the engine thread.
// Errors: kInvalidArgument (profile settings, downlink rules), kNotFound
// (type not built in).
Result<std::unique_ptr<uplink::Engine>> make_engine(
    const config::Config& cfg, const config::UplinkConfig& up, store::Store& store, const Clock& clock,
    uplink::DownlinkHandler on_downlink = {},
    std::function<void(std::chrono::nanoseconds)> on_publish_acked = {});

// When a delivery expires: the shorter of the route's TTL and the MQTT 5
// message expiry, counted from the receive time; 0 = never.
int64_t expiry_ms(const Message& msg, std::chrono::seconds route_ttl);

}  // namespace gw::app
