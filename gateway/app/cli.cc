#include "gateway/app/cli.h"

#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/app/gateway.h"
#include "gateway/app/queue_cmd.h"
#include "gateway/app/ops.h"
#include "gateway/app/passwd_cmd.h"
#include "gateway/app/sd_notify.h"
#include "gateway/app/status_cmd.h"
#include "gateway/app/wiring.h"
#include "gateway/config/config.h"
#include "gateway/core/log.h"
#include "gateway/rules/route_table.h"
#include "gateway/telemetry/logging.h"
#include "gateway/uplink/envelope.h"

namespace gw::app {
namespace {
// This module's logger (core/log.h).
spdlog::logger& logger() { return log::get(log::Module::kApp); }

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: edge-gateway COMMAND\n"
    "  run --config FILE [--log-level LEVEL]   run the gateway in the foreground\n"
    "                                           (--log-level: every module, over the file's log:)\n"
    "  check-config FILE                        validate a config file\n"
    "  routes test --config FILE --topic T [--prop K=V]... [--client-id C] [--username U]\n"
    "              [--qos N] [--retain] [--content-type T] [--payload JSON] [--cert-cn CN]\n"
    "              [--payload-format 0|1]\n"
    "                                           show where a message would go\n"
    "  decode [FILE|-]                          print a batch payload as JSON lines\n"
    "  queue stats|peek|purge|replay ...        inspect or repair the queue (queue help)\n"
    "  status [--url http://127.0.0.1:9100]     summary of a running gateway (telemetry.http)\n"
    "  passwd FILE USER [--iterations N]        add/update a broker user (password from a prompt or stdin)\n"
    "  version                                  print the version\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "edge-gateway: %s\n%s", message.c_str(), kUsage);
  return kExitUsage;
}

void notify(const char* state) { sd::notify(state); }

// Loads and compiles a config; prints every diagnostic to `out`. Returns the
// config and its route table only when there is no error.
struct Loaded {
  config::Config cfg;
  std::shared_ptr<const rules::RouteTable> routes;
};
std::optional<Loaded> load(const std::string& path, FILE* out) {
  auto result = config::load_file(path);
  std::optional<Loaded> loaded;
  if (result.config) {
    check_uplink_limits(*result.config, result.diagnostics);
    auto routes = rules::RouteTable::compile(*result.config, &result.diagnostics);
    if (routes.is_ok() && !has_errors(result.diagnostics)) {
      loaded = Loaded{std::move(*result.config), std::move(routes).value()};
    }
  } else if (result.partial) {
    // Report the route compiler's and the cloud quotas' problems too, in the same run.
    check_uplink_limits(*result.partial, result.diagnostics);
    (void)rules::RouteTable::compile(*result.partial, &result.diagnostics);
  }
  auto& diags = result.diagnostics;
  std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
  });
  std::string last;
  for (const auto& d : diags) {
    std::string line = d.to_string();
    if (line != last) std::fprintf(out, "%s\n", line.c_str());
    last = std::move(line);
  }
  return loaded;
}

int cmd_check_config(const std::vector<std::string>& args) {
  if (args.size() != 1) return usage_error("check-config takes one FILE");
  auto loaded = load(args[0], stdout);
  if (!loaded) return kExitUsage;
  const auto& c = loaded->cfg;
  std::printf("%s: ok: gateway '%s', %zu listener(s), %zu uplink(s), %zu route(s), default route %s\n",
              args[0].c_str(), c.gateway.id.c_str(), c.listeners.size(), c.uplinks.size(), c.routes.size(),
              c.default_route.drop ? "drop" : "forward");
  return kExitOk;
}

int cmd_decode(const std::vector<std::string>& args) {
  if (args.size() > 1) return usage_error("decode takes at most one FILE");
  std::string bytes;
  if (args.empty() || args[0] == "-") {
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(args[0], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "edge-gateway: decode: cannot read %s\n", args[0].c_str());
      return kExitFailure;
    }
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto lines = uplink::decode_batch(bytes);
  if (!lines.is_ok()) {
    std::fprintf(stderr, "edge-gateway: decode: %s\n", lines.status().to_string().c_str());
    return kExitFailure;
  }
  for (const auto& l : *lines) std::printf("%s\n", l.c_str());
  return kExitOk;
}

int cmd_routes(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "test") return usage_error("routes: only 'routes test' exists");
  std::string config_path;
  Message msg;
  msg.protocol_version = 5;
  bool have_topic = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--retain") {
      msg.retain = true;
    } else if (!value(v)) {
      return usage_error("routes test: " + a + " needs a value");
    } else if (a == "--config") {
      config_path = v;
    } else if (a == "--topic") {
      msg.topic = v;
      have_topic = true;
    } else if (a == "--prop") {
      const auto eq = v.find('=');
      if (eq == std::string::npos) return usage_error("--prop takes K=V");
      msg.properties.user.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (a == "--client-id") {
      msg.client_id = v;
    } else if (a == "--username") {
      msg.username = v;
    } else if (a == "--cert-cn") {
      msg.cert_cn = v;
    } else if (a == "--qos") {
      if (v != "0" && v != "1" && v != "2") return usage_error("--qos takes 0, 1 or 2");
      msg.qos = static_cast<uint8_t>(v[0] - '0');
    } else if (a == "--payload-format") {
      if (v != "0" && v != "1") return usage_error("--payload-format takes 0 or 1");
      msg.properties.payload_format = static_cast<uint8_t>(v[0] - '0');
    } else if (a == "--content-type") {
      msg.properties.content_type = v;
    } else if (a == "--payload") {
      msg.payload = v;
    } else {
      return usage_error("routes test: unknown option " + a);
    }
  }
  if (config_path.empty() || !have_topic) return usage_error("routes test needs --config FILE and --topic T");
  auto loaded = load(config_path, stderr);
  if (!loaded) return kExitUsage;
  rules::Decision decision;
  loaded->routes->evaluate(msg, decision);
  std::printf("%s\n", rules::decision_to_json(decision, msg).c_str());
  return kExitOk;
}

// telemetry's options from the `log:` section. `level_override` (--log-level)
// sets every module's level, above what the file says.
telemetry::LoggingOptions logging_options(const config::LogConfig& log, const std::optional<std::string>& level_override) {
  telemetry::LoggingOptions o;
  o.level = level_override.value_or(log.level);
  if (!level_override) o.module_levels = log.modules;
  o.file = log.file;
  o.max_file_bytes = log.max_size;
  o.max_files = log.max_files;
  o.syslog_prefix = log.file.empty() && telemetry::stderr_is_journal();
  o.repeats = {log.repeat_max_lines, log.repeat_window};
  return o;
}

// SIGHUP: the levels of a reloaded `log:` section apply at once (debug for
// one module during an incident, without dropping the devices); where and how
// the log is written needs a restart. `in_use` follows what was applied.
void reload_log_levels(config::LogConfig& in_use, const config::LogConfig& reloaded,
                       const std::optional<std::string>& level_override) {
  if (reloaded.level != in_use.level || reloaded.modules != in_use.modules) {
    if (Status st = telemetry::set_log_levels(logging_options(reloaded, level_override)); !st.is_ok()) {
      logger().error("log levels not changed: {}", st.message());
      return;
    }
    in_use.level = reloaded.level;
    in_use.modules = reloaded.modules;
    if (level_override) {
      logger().warn("log levels stay at --log-level {} (given on the command line)", *level_override);
    } else {
      logger().info("log levels reloaded (level {}, {} module level(s))", reloaded.level, reloaded.modules.size());
    }
  }
  if (reloaded.file != in_use.file || reloaded.max_size != in_use.max_size ||
      reloaded.max_files != in_use.max_files || reloaded.repeat_max_lines != in_use.repeat_max_lines ||
      reloaded.repeat_window != in_use.repeat_window) {
    logger().warn("log: file, rotation or repeats changed; restart the gateway to use them");
  }
}

int cmd_run(const std::vector<std::string>& args) {
  std::string config_path;
  std::optional<std::string> level;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (args[i] == "--log-level" && i + 1 < args.size()) {
      level = args[++i];
    } else {
      return usage_error("run: unknown argument " + args[i]);
    }
  }
  if (config_path.empty()) return usage_error("run needs --config FILE");
  // stderr until the config says otherwise.
  if (auto st = telemetry::setup_logging(logging_options({}, level)); !st.is_ok()) {
    return usage_error(st.message());
  }

  // Signals are taken synchronously by this thread; block them before any
  // other thread starts so they all inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto loaded = load(config_path, stderr);
  if (!loaded) return kExitUsage;
  const auto& cfg = loaded->cfg;
  if (auto st = telemetry::setup_logging(logging_options(cfg.log, level)); !st.is_ok()) {
    logger().error("cannot start: {}", st.message());
    return kExitFailure;
  }

  config::LogConfig log_in_use = cfg.log;  // what SIGHUP compares with
  auto gateway = Gateway::create(cfg, loaded->routes, SystemClock::instance());
  if (!gateway.is_ok()) {
    logger().error("cannot start: {}", gateway.status().message());
    return kExitFailure;
  }
  if (auto st = (*gateway)->start(); !st.is_ok()) {
    logger().error("cannot start: {}", st.message());
    return kExitFailure;
  }
  logger().info("edge-gateway {} running as '{}' ({} uplink(s), {} route(s))", GW_VERSION, cfg.gateway.id,
               cfg.uplinks.size(), cfg.routes.size());

  // Operations: health, the watchdog, and /metrics + /healthz when configured.
  Health health(**gateway, SystemClock::instance(), std::chrono::seconds(60));
  telemetry::Registry registry;
  register_metrics(registry, **gateway, SystemClock::instance());
  std::unique_ptr<telemetry::HttpServer> http;
  if (cfg.telemetry.http) {
    auto server = telemetry::HttpServer::start({cfg.telemetry.http->first, cfg.telemetry.http->second},
                                               [&registry] { return registry.scrape(); },
                                               [&health] { return health.check(); });
    if (!server.is_ok()) {
      logger().error("cannot start: {}", server.status().message());
      (*gateway)->stop();
      return kExitFailure;
    }
    http = std::move(server).value();
    logger().info("metrics on http://{}:{}/metrics, health on /healthz", cfg.telemetry.http->first, http->port());
  }
  const auto watchdog = Supervisor::systemd_watchdog_interval();
  Supervisor supervisor(**gateway, health,
                        watchdog.count() > 0 ? std::min<std::chrono::milliseconds>(watchdog / 2, std::chrono::seconds(1))
                                             : std::chrono::milliseconds(1000),
                        std::chrono::seconds(10));
  notify("READY=1");
#ifdef __GLIBC__
  // Start-up (YAML, route compilation, schema checks) leaves freed heap
  // behind; hand its pages back so the idle footprint is what running needs.
  malloc_trim(0);
#endif

  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      notify("RELOADING=1");
      logger().info("SIGHUP: reloading routes from {} and the password file", config_path);
      std::ostringstream problems;
      auto result = config::load_file(config_path);
      std::shared_ptr<const rules::RouteTable> table;
      if (result.config) {
        auto routes = rules::RouteTable::compile(*result.config, &result.diagnostics);
        if (routes.is_ok()) table = std::move(routes).value();
      }
      for (const auto& d : result.diagnostics) logger().warn("{}", d.to_string());
      if (table) {
        (*gateway)->swap_routes(std::move(table));
        logger().info("routes reloaded ({} route(s))", result.config->routes.size());
        reload_log_levels(log_in_use, result.config->log, level);
      } else {
        logger().error("reload failed; keeping the routes in use");
      }
      // Independent of the routes: a user added with `edge-gateway passwd`
      // becomes valid without a restart.
      if (Status st = (*gateway)->reload_password_file(); !st.is_ok()) {
        logger().error("password file reload failed; keeping the users in use: {}", st.message());
      } else if (result.config && result.config->auth.password_file != cfg.auth.password_file) {
        logger().warn("auth.password_file changed to {}; restart the gateway to use it",
                     result.config->auth.password_file.string());
      }
      notify("READY=1");
      continue;
    }
    logger().info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  notify("STOPPING=1");
  if (http) http->stop();
  (*gateway)->stop();
  logger().info("stopped");
  telemetry::flush_logs();
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string_view cmd = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "version" || cmd == "--version") {
    std::printf("edge-gateway %s\n", GW_VERSION);
    return kExitOk;
  }
  if (cmd == "run") return cmd_run(args);
  if (cmd == "check-config") return cmd_check_config(args);
  if (cmd == "decode") return cmd_decode(args);
  if (cmd == "routes") return cmd_routes(args);
  if (cmd == "queue") return cmd_queue(args);
  if (cmd == "passwd") return cmd_passwd(args);
  if (cmd == "status") return cmd_status(args);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  return usage_error("unknown command '" + std::string(cmd) + "'");
}

}  // namespace gw::app
