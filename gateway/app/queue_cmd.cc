#include "gateway/app/queue_cmd.h"

#include <cinttypes>
#include <cstdio>
#include <string>

#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/store/admin.h"
#include "gateway/uplink/envelope.h"

namespace gw::app {

const char* const kQueueUsage =
    "  queue stats                              rows, bytes, oldest age per uplink/route/priority\n"
    "  queue peek [--route R] [-n N] [--dead-letter]\n"
    "                                           the next N messages (default 10) as JSON lines\n"
    "  queue purge --route R | --dead-letter [--route R]\n"
    "                                           delete queued messages of a route, or dead letters\n"
    "  queue replay --dead-letter [--route R]   move dead letters back into the queue\n"
    "     (each takes --config FILE, default /etc/edge-gateway/gateway.yaml, or --db PATH)\n";

namespace {

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kUsage = 2;

int usage(const std::string& message) {
  std::fprintf(stderr, "edge-gateway queue: %s\nusage:\n%s", message.c_str(), kQueueUsage);
  return kUsage;
}

int failure(const Status& s) {
  std::fprintf(stderr, "edge-gateway queue: %s\n", s.to_string().c_str());
  return kFailure;
}

std::string age(int64_t now_ms, int64_t then_ms) {
  if (then_ms <= 0) return "-";
  const int64_t s = std::max<int64_t>(0, (now_ms - then_ms) / 1000);
  char buf[32];
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "s", s);
  } else if (s < 7200) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "m", s / 60);
  } else if (s < 172800) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "h", s / 3600);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRId64 "d", s / 86400);
  }
  return buf;
}

void print_groups(const char* title, const std::vector<store::QueueGroup>& groups, int64_t now_ms) {
  std::printf("%s\n  %-16s %-20s %4s %10s %12s %8s\n", title, "uplink", "route", "prio", "rows",
              "bytes", "oldest");
  for (const auto& g : groups) {
    std::printf("  %-16s %-20s %4d %10" PRId64 " %12" PRId64 " %8s\n", g.uplink.c_str(),
                g.route.c_str(), g.priority, g.rows, g.bytes,
                age(now_ms, g.oldest_received_at_ms).c_str());
  }
}

}  // namespace

int cmd_queue(const std::vector<std::string>& args) {
  if (args.empty()) return usage("which command? stats, peek, purge or replay");
  const std::string& sub = args[0];
  if (sub == "help" || sub == "--help" || sub == "-h") {
    std::printf("usage:\n%s", kQueueUsage);
    return kOk;
  }
  std::string config_path = "/etc/edge-gateway/gateway.yaml";
  std::string db_path;
  std::string route;
  size_t n = 10;
  bool dead = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--dead-letter") {
      dead = true;
    } else if (!value(v)) {
      return usage(a + " needs a value, or is unknown");
    } else if (a == "--config") {
      config_path = v;
    } else if (a == "--db") {
      db_path = v;
    } else if (a == "--route") {
      route = v;
    } else if (a == "-n") {
      try {
        n = std::stoul(v);
      } catch (const std::exception&) {
        return usage("-n takes a number");
      }
    } else {
      return usage("unknown option " + a);
    }
  }
  if (sub != "stats" && sub != "peek" && sub != "purge" && sub != "replay") {
    return usage("unknown command '" + sub + "'");
  }
  if (sub == "purge" && !dead && route.empty()) return usage("purge needs --route R or --dead-letter");
  if (sub == "replay" && !dead) return usage("replay needs --dead-letter");

  if (db_path.empty()) {
    auto loaded = config::load_file(config_path);
    if (!loaded.config) {
      for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
      std::fprintf(stderr, "edge-gateway queue: cannot read %s (use --db PATH)\n", config_path.c_str());
      return kUsage;
    }
    db_path = loaded.config->store.path.string();
  }
  const bool writes = sub == "purge" || sub == "replay";
  auto admin = store::QueueAdmin::open(db_path, writes);
  if (!admin.is_ok()) return failure(admin.status());
  const int64_t now_ms = SystemClock::instance().wall_ms();

  if (sub == "stats") {
    auto s = (*admin)->summary();
    if (!s.is_ok()) return failure(s.status());
    std::printf("database %s (schema %d, %" PRId64 " bytes on disk with its WAL)\n", db_path.c_str(),
                s->schema_version, s->file_bytes);
    std::printf("queued: %" PRId64 " rows, %" PRId64 " bytes, oldest %s\n", s->rows, s->bytes,
                age(now_ms, s->oldest_received_at_ms).c_str());
    std::printf("dead letters: %" PRId64 " rows\n", s->dead_letters);
    if (!s->groups.empty()) print_groups("queue:", s->groups, now_ms);
    if (!s->dead_groups.empty()) print_groups("dead letters:", s->dead_groups, now_ms);
    return kOk;
  }
  if (sub == "peek") {
    auto rows = (*admin)->peek(route, n, dead);
    if (!rows.is_ok()) return failure(rows.status());
    for (const auto& p : *rows) {
      // The batch line (FORMAT.md) with where the row waits in front.
      std::string line = uplink::encode_line(p.row);
      std::string head = "{\"uplink\":\"" + p.row.uplink + "\",\"priority\":" +
                         std::to_string(p.row.priority) +
                         ",\"expires_at_ms\":" + std::to_string(p.row.expires_at_ms) + ",";
      if (!p.reason.empty()) head += "\"dead_reason\":\"" + p.reason + "\",";
      if (dead) head += "\"dead_at_ms\":" + std::to_string(p.dead_at_ms) + ",";
      std::printf("%s%s\n", head.c_str(), line.c_str() + 1);
    }
    return kOk;
  }
  if (sub == "purge") {
    auto count = dead ? (*admin)->purge_dead_letters(route) : (*admin)->purge_route(route);
    if (!count.is_ok()) return failure(count.status());
    std::printf("purged %" PRId64 " %s\n", *count, dead ? "dead letter(s)" : "queued message(s)");
    return kOk;
  }
  auto count = (*admin)->replay_dead_letters(route);
  if (!count.is_ok()) return failure(count.status());
  std::printf("moved %" PRId64 " dead letter(s) back to the queue\n", *count);
  return kOk;
}

}  // namespace gw::app
