// RouteTable: the routes of a config, compiled once, evaluated per message.
//
// compile() turns config::Config's routes and default_route into matchers
// (topic filters with their captures, property tests, regexes compiled once,
// templates split into parts) and reports every problem with FILE:LINE:COL.
// evaluate() then decides, for one Message, where it goes.
//
// Semantics (docs/routes.md has the worked examples):
//  - Routes are tried in file order. The first route that matches decides,
//    unless it says `continue: true`, in which case later routes are tried too.
//  - Inside one `match:` every key must hold (AND). `topic:` with several
//    filters holds when any filter matches. A property condition holds when
//    some user property with that key satisfies every operator given (user
//    properties may repeat); `exists: false` holds when no property has the key.
//  - A `drop: true` route ends evaluation and sets `dropped`; deliveries that
//    earlier `continue` routes produced are kept.
//  - A message that matched no route at all follows `default_route`
//    (forward, or drop = `dropped`). A message that matched only `continue`
//    routes is routed: the default does not add to it.
//  - One Delivery per (route, uplink). A message that reaches the same uplink
//    through two routes is delivered twice, once per route, because each route
//    has its own priority, ttl, cloud topic ({route}) and properties.
//
// Ownership and threads: a RouteTable is immutable after compile() and is
// shared (shared_ptr<const>) between the broker thread, which evaluates, and
// the reloader, which swaps in a new table; evaluate() is const, pure and
// thread-safe. Decision holds string_views into the table: keep the table
// alive while reading a Decision.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/core/diagnostic.h"
#include "gateway/core/message.h"
#include "gateway/core/status.h"

namespace gw::rules {

// One message for one uplink, as the store should queue it.
struct Delivery {
  std::string_view uplink;  // an uplink name (in the table)
  std::string_view route;   // the route name, or "default_route"
  uint8_t priority = config::kDefaultPriority;  // 0-9, higher first
  std::chrono::seconds ttl{0};                  // 0 = none
  std::string cloud_topic;  // the route's `topic:` rewrite; empty = none (the uplink's template applies)
  // The route's set_properties / remove_properties applied to the message's
  // user properties. When false, `properties` is empty and the message's own
  // user properties apply (see Decision::properties_of).
  bool properties_rewritten = false;
  std::vector<UserProperty> properties;
};

// A copy of the message to publish on a local topic (`republish:`). It goes
// to local subscribers only; it is not routed again.
struct Republish {
  std::string_view route;
  std::string topic;
  bool properties_rewritten = false;
  std::vector<UserProperty> properties;  // see Delivery
};

struct Decision {
  std::vector<uint32_t> matched;             // route indices, in evaluation order
  std::vector<std::string_view> matched_names;  // the same, by name
  std::vector<Delivery> deliveries;
  std::vector<Republish> republish;
  bool dropped = false;          // a drop route or a `drop` default decided
  bool used_default = false;     // no route matched; default_route applied

  // Scratch for evaluate() (the (route, filter) pairs whose topic filter
  // matched); not part of the result. Kept here so that a reused Decision
  // keeps its capacity and evaluate() need not allocate.
  std::vector<std::pair<uint32_t, uint32_t>> topic_hits;

  // Empties the lists, keeping their capacity, so that a reused Decision
  // makes evaluate() allocation-free for routes without templates.
  void clear();

  // The user properties a delivery carries: its rewritten ones, or msg's.
  static const std::vector<UserProperty>& properties_of(const Delivery& d, const Message& msg) {
    return d.properties_rewritten ? d.properties : msg.properties.user;
  }
};

class RouteTable {
 public:
  // Compiles the routes of `cfg` (which load_file() has already validated).
  // Appends every problem to *diags (errors and warnings, FILE:LINE:COL): bad
  // topic filters, bad or unsafe regexes, templates naming unknown captures or
  // placeholders, and (warning) routes an earlier route always catches.
  // Returns InvalidArgument when any error was found. diags may be null.
  static Result<std::shared_ptr<const RouteTable>> compile(const config::Config& cfg,
                                                           std::vector<Diagnostic>* diags);

  // Decides where `msg` goes; fills `out` (cleared first). Never fails.
  // Allocates only for templates, property rewrites, regexes and payload
  // conditions (and to grow `out` the first time).
  void evaluate(const Message& msg, Decision& out) const;

  size_t route_count() const;
  std::string_view route_name(size_t index) const;

  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  struct Impl;  // internal/compiled.h

 private:
  explicit RouteTable(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The dry-run object of `edge-gateway routes test` (issue 6), as JSON text:
// {"matched": [names], "deliveries": [{"route","uplink","priority","ttl_s",
//  "topic","properties": [[k, v], ...]}], "republish": [{"route","topic"}],
//  "dropped": bool}. "topic" is the rewritten cloud topic, or null when the
// route does not rewrite it. `indent` < 0 gives one line.
std::string decision_to_json(const Decision& decision, const Message& msg, int indent = 2);

}  // namespace gw::rules
