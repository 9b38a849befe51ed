#include "gateway/app/status_cmd.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "gateway/config/config.h"
#include "gateway/telemetry/http_server.h"

namespace gw::app {
namespace {

// One scrape: "name{k=\"v\",...}" -> value. Only what the summary reads.
using Samples = std::map<std::string, double>;

// Parses the text format just enough to index samples by name and labels
// (kept in their written order, which is stable between two scrapes).
Samples parse_metrics(const std::string& text) {
  Samples out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#') continue;
    // The value follows the last space outside the label braces.
    const size_t close = line.rfind('}');
    const size_t space = line.find(' ', close == std::string_view::npos ? 0 : close);
    if (space == std::string_view::npos) continue;
    try {
      out[std::string(line.substr(0, space))] = std::stod(std::string(line.substr(space + 1)));
    } catch (const std::exception&) {
    }
  }
  return out;
}

double get(const Samples& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? 0 : it->second;
}

// Sum of every sample of `name` (any labels).
double sum(const Samples& s, const std::string& name) {
  double total = 0;
  for (auto it = s.lower_bound(name); it != s.end() && it->first.compare(0, name.size(), name) == 0; ++it) {
    const char next = it->first.size() > name.size() ? it->first[name.size()] : '\0';
    if (next == '\0' || next == '{') total += it->second;
  }
  return total;
}

std::string uptime_text(double seconds) {
  auto s = static_cast<long long>(seconds);
  char buf[64];
  if (s >= 86400) {
    std::snprintf(buf, sizeof buf, "%lldd %02lldh %02lldm", s / 86400, s % 86400 / 3600, s % 3600 / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldh %02lldm %02llds", s / 3600, s % 3600 / 60, s % 60);
  }
  return buf;
}

std::string bytes_text(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

}  // namespace

int cmd_status(const std::vector<std::string>& args) {
  std::string url = "http://127.0.0.1:9100";
  std::chrono::milliseconds interval{1000};
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--url" && i + 1 < args.size()) {
      url = args[++i];
    } else if (args[i] == "--interval" && i + 1 < args.size()) {
      auto d = config::parse_duration(args[++i]);
      if (!d.is_ok()) {
        std::fprintf(stderr, "edge-gateway: status: --interval: %s\n", d.status().message().c_str());
        return 2;
      }
      interval = *d;
    } else {
      std::fprintf(stderr, "edge-gateway: status: unknown argument %s\nusage: edge-gateway status [--url URL] [--interval 1s]\n",
                   args[i].c_str());
      return 2;
    }
  }
  while (!url.empty() && url.back() == '/') url.pop_back();

  auto health = telemetry::http_get(url + "/healthz");
  auto first = telemetry::http_get(url + "/metrics");
  if (!health.is_ok() || !first.is_ok()) {
    const Status& st = health.is_ok() ? first.status() : health.status();
    std::fprintf(stderr, "edge-gateway: status: %s (is the gateway running with telemetry.http set?)\n",
                 st.message().c_str());
    return 1;
  }
  Samples a = parse_metrics(first->body);
  Samples b = a;
  double dt = 0;
  if (interval.count() > 0) {
    std::this_thread::sleep_for(interval);
    if (auto second = telemetry::http_get(url + "/metrics"); second.is_ok()) {
      b = parse_metrics(second->body);
      dt = get(b, "edge_gateway_uptime_seconds") - get(a, "edge_gateway_uptime_seconds");
    }
  }
  auto rate = [&](const std::string& key, bool by_name) {
    if (dt <= 0) return 0.0;
    return ((by_name ? sum(b, key) : get(b, key)) - (by_name ? sum(a, key) : get(a, key))) / dt;
  };

  nlohmann::json h = nlohmann::json::parse(health->body, nullptr, false);
  const bool healthy = health->status == 200;
  std::string version = "?", id = "?";
  for (const auto& [k, v] : b) {
    if (k.rfind("edge_gateway_build_info{", 0) != 0) continue;
    auto field = [&k](const std::string& label) {
      const size_t p = k.find(label + "=\"");
      if (p == std::string::npos) return std::string("?");
      const size_t start = p + label.size() + 2;
      return k.substr(start, k.find('"', start) - start);
    };
    version = field("version");
    id = field("gateway_id");
  }

  std::printf("edge-gateway %s, gateway '%s' at %s: %s\n", version.c_str(), id.c_str(), url.c_str(),
              healthy ? "healthy" : "UNHEALTHY");
  if (!healthy && h.is_object() && h.contains("reasons")) {
    for (const auto& r : h["reasons"]) std::printf("  ! %s\n", r.get<std::string>().c_str());
  }
  std::printf("  uptime      %s\n", uptime_text(get(b, "edge_gateway_uptime_seconds")).c_str());
  std::printf("  clients     %.0f connected\n", get(b, "edge_gateway_connections"));
  std::printf("  in          %.0f msgs total, %.1f msg/s, %s\n", sum(b, "edge_gateway_messages_in_total"),
              rate("edge_gateway_messages_in_total", true), bytes_text(get(b, "edge_gateway_bytes_in_total")).c_str());
  auto dropped = [&](const char* reason) {
    return get(b, std::string("edge_gateway_messages_dropped_total{reason=\"") + reason + "\"}");
  };
  std::printf("  dropped     %.0f (no route %.0f, drop route %.0f, store full %.0f, store refused %.0f, acl %.0f, "
              "malformed %.0f, expired %.0f, evicted %.0f)\n",
              sum(b, "edge_gateway_messages_dropped_total"), dropped("no_route"), dropped("route_drop"),
              dropped("quota"), dropped("store_refused"), dropped("acl"), dropped("malformed"), dropped("ttl"),
              dropped("evicted"));
  std::printf("  store       %s, %s on disk, last group %.0f msgs\n",
              get(b, "edge_gateway_store_up") == 1 ? "ok" : "FAILED",
              bytes_text(get(b, "edge_gateway_store_file_bytes")).c_str(), get(b, "edge_gateway_store_group_size"));
  std::set<std::string> uplinks;
  const std::string prefix = "edge_gateway_uplink_connected{uplink=\"";
  for (const auto& [k, v] : b) {
    if (k.rfind(prefix, 0) == 0) uplinks.insert(k.substr(prefix.size(), k.size() - prefix.size() - 2));
  }
  for (const auto& u : uplinks) {
    const std::string l = "{uplink=\"" + u + "\"}";
    std::string breaker = "?";
    for (const char* s : {"closed", "open", "half_open"}) {
      if (get(b, "edge_gateway_uplink_breaker_state{uplink=\"" + u + "\",state=\"" + s + "\"}") == 1) breaker = s;
    }
    const double queued = get(b, "edge_gateway_store_rows" + l);
    const std::string oldest =
        queued > 0 ? ", oldest " + uptime_text(get(b, "edge_gateway_store_oldest_age_seconds" + l)) : "";
    std::printf("  uplink %-12s %s, breaker %s, %.0f queued%s, %.1f msg/s out, %.0f sent, compression %.1fx\n",
                u.c_str(), get(b, "edge_gateway_uplink_connected" + l) == 1 ? "connected" : "DISCONNECTED",
                breaker.c_str(), queued, oldest.c_str(), rate("edge_gateway_uplink_messages_sent_total" + l, false),
                get(b, "edge_gateway_uplink_messages_sent_total" + l), get(b, "edge_gateway_uplink_compression_ratio" + l));
  }
  return healthy ? 0 : 1;
}

}  // namespace gw::app
