// gw-loadgen: MQTT publish load for benchmarks and fault tests.
//
// N device connections (raw non-blocking sockets, one epoll loop, the
// gateway's own gw::mqtt codec), each publishing M messages (or for
// --duration seconds) with at most --window unacknowledged publishes, at a
// target total rate or flat out; QoS 0/1/2, MQTT 3.1.1 or 5 (with --prop user
// properties). Every payload is a JSON object carrying the client id, a
// per-client sequence number (from 1) and the send time, padded with
// realistic telemetry fields (~200 bytes, or --size):
//   {"client":"lg-0","seq":17,"t_us":1700000000000000,"site":"plant-a",...}
// so gw-counter can count received / missing / duplicated messages per client
// and end-to-end latency at the cloud side.
//
// Reports one line (JSON, or CSV with --csv): msg/s and publish->ack latency
// p50/p99/max, from the send() that carried the publish to the ack's arrival
// at the socket, by the kernel's receive timestamp (QoS 1: the PUBACK; QoS 2:
// the PUBCOMP; QoS 0: 0). The tool shares the cores with the broker it
// measures, so it may read an ack well after it came; seen_p50/p99 are to
// that read, for comparison (a device on its own CPU reads it at once).
// With --acked FILE it writes which sequence numbers were acknowledged
// (format in tests/tools/tool_util.h), so loss can be counted against acks.
// When the broker goes away the client reconnects every 500 ms with a clean
// session; publishes outstanding at the disconnect count as not acked
// ("abandoned") and are not resent: the tool measures, it does not retry.
//
// --warmup S leaves the publishes sent in the first S seconds out of the
// latency figures (they are sent, acked and counted like the others): a
// steady-state figure, without the start of a fresh broker (a gateway's WAL
// and database files grow from empty then; ~50-250 ms of slower commits).
//
// --idle S connects every client, prints "connected N" on stderr, and holds
// the connections S seconds without publishing (keep alive only): the
// memory-per-idle-connection figure.
//
// Single-threaded: one epoll loop drives every connection. (Paho C async
// was tried first; its command queue capped it near 5,000 msg/s here. poll()
// over every socket each pass cost the tool a tenth of its CPU at a fixed
// rate, CPU the gateway it measures on the same cores did not get.)
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <unordered_map>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/packet.h"
#include "tests/tools/tool_util.h"

namespace gw::tools {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

enum class State { kIdle, kConnecting, kWaitConnack, kUp };

struct Pending {
  uint64_t seq;
  Clock::time_point sent;
  bool released = false;  // QoS 2: PUBREC seen, PUBREL sent
};

// One device connection, driven by the single epoll loop in run().
struct Client {
  std::string id;
  std::string topic;
  int fd = -1;
  State state = State::kIdle;
  Clock::time_point retry_at{};
  Clock::time_point last_write{};
  bool ever_connected = false;
  bool watch_writable = false;  // EPOLLOUT registered: wbuf waits for room
  std::string rbuf, wbuf;
  uint16_t next_pid = 1;
  uint64_t next_seq = 1;
  std::unordered_map<uint16_t, Pending> pending;
  std::vector<uint16_t> unsent;  // publishes encoded into wbuf, sent by the next flush()
  std::vector<bool> acked{false};  // index = seq
};

// Realistic ~200-byte telemetry; `size` > 0 pads to that size.
class PayloadMaker {
 public:
  PayloadMaker(size_t size, uint64_t seed) : size_(size), rng_(seed) {}
  std::string make(const std::string& client, uint64_t seq) {
    std::uniform_real_distribution<double> temp(18.0, 26.0), pres(99.0, 103.0), vib(0.0, 2.0);
    char body[320];
    const int line = static_cast<int>(seq % 4) + 1;
    std::snprintf(body, sizeof body,
                  "{\"client\":\"%s\",\"seq\":%llu,\"t_us\":%lld,\"site\":\"plant-a\",\"line\":\"line-%d\","
                  "\"temp_c\":%.2f,\"pressure_kpa\":%.2f,\"vibration_mm_s\":[%.3f,%.3f,%.3f],"
                  "\"status\":\"ok\",\"fw\":\"2.4.1\"",
                  client.c_str(), static_cast<unsigned long long>(seq), static_cast<long long>(now_us_wall()),
                  line, temp(rng_), pres(rng_), vib(rng_), vib(rng_), vib(rng_));
    std::string out = body;
    if (size_ > out.size() + 10) out += ",\"pad\":\"" + std::string(size_ - out.size() - 10, 'x') + "\"";
    out += "}";
    return out;
  }

 private:
  size_t size_;
  std::mt19937_64 rng_;
};

int usage() {
  std::fprintf(stderr,
               "usage: gw-loadgen [--host H] [--port P] [--clients N] [--messages M | --duration S]\n"
               "  [--qos 0|1|2] [--mqtt 3.1.1|5] [--prop K=V]... [--size BYTES] [--window W]\n"
               "  [--rate MSG_PER_S] [--topic 'plant/{client}/telemetry'] [--client-prefix lg]\n"
               "  [--acked FILE] [--csv] [--label TEXT] [--drain-timeout S] [--connect-timeout S]\n"
               "  [--idle S] [--warmup S]\n");
  return 2;
}

struct Stats {
  std::vector<uint32_t> latencies_us;    // of publishes sent after the warm-up: to the ack's arrival at the socket
  std::vector<uint32_t> seen_us;         // the same, to when the tool read the ack
  Clock::time_point warm_until = Clock::time_point::max();
  uint64_t acked = 0, refused = 0, abandoned = 0, disconnects = 0, sent = 0;
};

class Runner {
 public:
  Runner(sockaddr_in addr, mqtt::ProtocolVersion version, int qos, size_t window, mqtt::Properties props)
      : addr_(addr), version_(version), qos_(qos), window_(window), props_(std::move(props)),
        epfd_(::epoll_create1(EPOLL_CLOEXEC)) {}
  ~Runner() { ::close(epfd_); }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Waits up to timeout_ms for socket events and handles them.
  void wait_and_handle(int timeout_ms) {
    epoll_event events[256];
    const int n = ::epoll_wait(epfd_, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
      Client& c = *static_cast<Client*>(events[i].data.ptr);
      const uint32_t re = events[i].events;
      if (c.fd >= 0 && (re & (EPOLLOUT | EPOLLERR | EPOLLHUP))) on_writable(c);
      if (c.fd >= 0 && (re & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_readable(c);
    }
  }

  void start_connect(Client& c) {
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    const int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;  // writable = connected (or failed)
    ev.data.ptr = &c;
    if ((rc != 0 && errno != EINPROGRESS) || ::epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
      drop(c);
      return;
    }
    c.watch_writable = true;
    c.state = State::kConnecting;
    mqtt::Connect con;
    con.version = version_;
    con.client_id = c.id;
    con.clean_start = true;
    con.keep_alive_s = 60;
    c.wbuf.clear();
    c.rbuf.clear();
    mqtt::encode(con, c.wbuf);
  }

  // Connection gone: outstanding publishes are not acked (an ack can't come
  // on a clean session); retry in 500 ms.
  void drop(Client& c) {
    if (c.fd >= 0) ::close(c.fd);  // also leaves the epoll set
    if (c.state == State::kUp) ++stats_.disconnects;
    c.fd = -1;
    c.state = State::kIdle;
    stats_.abandoned += c.pending.size();
    c.pending.clear();
    c.unsent.clear();
    c.retry_at = Clock::now() + std::chrono::milliseconds(500);
  }

  bool can_publish(const Client& c) const { return c.state == State::kUp && c.pending.size() < window_ && c.wbuf.size() < 65536; }

  void publish(Client& c, std::string payload) {
    mqtt::Publish p;
    p.topic = c.topic;
    p.payload = std::move(payload);
    p.qos = static_cast<uint8_t>(qos_);
    if (version_ == mqtt::ProtocolVersion::kV5) p.properties = props_;
    const uint64_t seq = c.next_seq++;
    if (qos_ > 0) {
      do {
        p.packet_id = c.next_pid++;
        if (c.next_pid == 0) c.next_pid = 1;
      } while (c.pending.count(p.packet_id));
      c.pending.emplace(p.packet_id, Pending{seq, Clock::now()});
      c.unsent.push_back(p.packet_id);
    } else {
      mark_acked(c, seq, Clock::now(), Clock::now());
    }
    mqtt::encode(p, version_, c.wbuf);
    ++stats_.sent;
  }

  void mark_acked(Client& c, uint64_t seq, Clock::time_point sent, Clock::time_point arrived) {
    if (c.acked.size() <= seq) c.acked.resize(seq + 1, false);
    if (c.acked[seq]) return;
    c.acked[seq] = true;
    ++stats_.acked;
    if (sent < stats_.warm_until) return;
    auto us = [](Clock::duration d) {
      return static_cast<uint32_t>(std::clamp<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count(), 0, UINT32_MAX));
    };
    stats_.latencies_us.push_back(us(arrived - sent));
    stats_.seen_us.push_back(us(Clock::now() - sent));
  }

  // One recv per readiness unless it fills the buffer: the epoll set is level
  // triggered, so bytes that arrive later wake the next pass, and a second
  // recv that would only say EAGAIN costs a syscall per ack (a third of the
  // tool's syscalls at a fixed rate, CPU taken from the gateway it measures).
  void on_readable(Client& c) {
    char buf[65536];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    Clock::time_point arrived = Clock::now();
    for (;;) {
      iovec iov{buf, sizeof buf};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t n = ::recvmsg(c.fd, &msg, 0);
      if (n > 0) {
        arrived = arrival(msg);
        c.rbuf.append(buf, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof buf) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      drop(c);  // EOF or error
      return;
    }
    size_t off = 0;
    while (c.fd >= 0) {
      const auto fr = mqtt::scan_frame(std::string_view(c.rbuf).substr(off), 1u << 20);
      if (fr.state == mqtt::FrameState::kNeedMore) break;
      if (fr.state == mqtt::FrameState::kError) {
        drop(c);
        return;
      }
      auto d = mqtt::decode(std::string_view(c.rbuf).substr(off, fr.size), version_);
      off += fr.size;
      if (!d.is_ok()) {
        drop(c);
        return;
      }
      handle(c, d.packet(), arrived);
    }
    if (c.fd >= 0) c.rbuf.erase(0, off);
  }

  // When the kernel queued the bytes on the socket (SO_TIMESTAMPNS, wall
  // clock), on the steady clock: the ack's arrival, before this tool, which
  // shares the cores with the broker it measures, got to read it.
  static Clock::time_point arrival(msghdr& msg) {
    const auto now = Clock::now();
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPNS) continue;
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
      const auto age = std::chrono::system_clock::now().time_since_epoch() -
                       (std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
      return now - std::chrono::duration_cast<Clock::duration>(std::max(age, std::chrono::system_clock::duration::zero()));
    }
    return now;
  }

  void handle(Client& c, const mqtt::Packet& pkt, Clock::time_point arrived) {
    if (const auto* ca = std::get_if<mqtt::Connack>(&pkt)) {
      if (ca->reason_code != mqtt::ReasonCode::kSuccess) {
        drop(c);
        return;
      }
      c.state = State::kUp;
      c.ever_connected = true;
    } else if (const auto* pa = std::get_if<mqtt::Puback>(&pkt)) {
      complete(c, pa->packet_id, static_cast<uint8_t>(pa->reason_code) < 0x80, arrived);
    } else if (const auto* pr = std::get_if<mqtt::Pubrec>(&pkt)) {
      auto it = c.pending.find(pr->packet_id);
      if (static_cast<uint8_t>(pr->reason_code) >= 0x80) {
        complete(c, pr->packet_id, false, arrived);
      } else if (it != c.pending.end()) {
        // QoS 2 (MQTT 5.0 §4.3.3): the receiver owns the message after
        // PUBREC; we count the ack at PUBCOMP, when the flow is complete.
        it->second.released = true;
        mqtt::Pubrel rel;
        rel.packet_id = pr->packet_id;
        mqtt::encode(rel, version_, c.wbuf);
      }
    } else if (const auto* pc = std::get_if<mqtt::Pubcomp>(&pkt)) {
      complete(c, pc->packet_id, true, arrived);
    } else if (std::holds_alternative<mqtt::Disconnect>(pkt)) {
      drop(c);
    }
  }

  void complete(Client& c, uint16_t pid, bool ok, Clock::time_point arrived) {
    auto it = c.pending.find(pid);
    if (it == c.pending.end()) return;
    if (ok) {
      mark_acked(c, it->second.seq, it->second.sent, arrived);
    } else {
      ++stats_.refused;
    }
    c.pending.erase(it);
  }

  void on_writable(Client& c) {
    if (c.state == State::kConnecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        drop(c);
        return;
      }
      c.state = State::kWaitConnack;
    }
    flush(c);
  }

  // Writes what wbuf holds; EPOLLOUT is watched only while some is left.
  void flush(Client& c) {
    if (c.state == State::kConnecting) return;  // on_writable will
    // Latency runs from the send(), not from when the pass encoded the
    // publish: the pass encodes for every client first, then sends client by
    // client, and that wait is the tool's, not the broker's (~1 ms of p50 at
    // 50,000 msg/s over 100 clients).
    const auto now = Clock::now();
    for (uint16_t pid : c.unsent) {
      if (auto it = c.pending.find(pid); it != c.pending.end()) it->second.sent = now;
    }
    c.unsent.clear();
    while (!c.wbuf.empty()) {
      const ssize_t n = ::send(c.fd, c.wbuf.data(), c.wbuf.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.wbuf.erase(0, static_cast<size_t>(n));
        c.last_write = Clock::now();
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      drop(c);
      return;
    }
    if (c.wbuf.empty() == c.watch_writable) {
      c.watch_writable = !c.wbuf.empty();
      epoll_event ev{};
      ev.events = EPOLLIN | (c.watch_writable ? EPOLLOUT : 0u);
      ev.data.ptr = &c;
      ::epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
    }
  }

  void keepalive(Client& c, Clock::time_point now) {
    if (c.state == State::kUp && c.wbuf.empty() && now - c.last_write > std::chrono::seconds(20)) {
      mqtt::encode(mqtt::Pingreq{}, version_, c.wbuf);
      c.last_write = now;
    }
  }

  Stats& stats() { return stats_; }

 private:
  sockaddr_in addr_;
  mqtt::ProtocolVersion version_;
  int qos_;
  size_t window_;
  mqtt::Properties props_;
  int epfd_;
  Stats stats_;
};

int run(int argc, char** argv) {
  Flags f(argc, argv,
          {"host", "port", "clients", "messages", "duration", "qos", "mqtt", "prop", "size", "window", "rate", "topic",
           "client-prefix", "acked", "csv", "label", "drain-timeout", "connect-timeout", "seed", "idle", "warmup", "help"});
  if (f.has("help") || !f.positional().empty()) return usage();
  const std::string host = f.str("host", "127.0.0.1");
  const int port = static_cast<int>(f.num("port", 1883));
  const int nclients = static_cast<int>(f.num("clients", 10));
  const uint64_t messages = static_cast<uint64_t>(f.num("messages", f.has("duration") ? 0 : 1000));
  const double idle_s = f.num("idle", 0);
  const double duration_s = idle_s > 0 ? idle_s : f.num("duration", 0);
  const int qos = static_cast<int>(f.num("qos", 1));
  const bool v5 = f.str("mqtt", "5") == "5";
  const size_t window = static_cast<size_t>(f.num("window", 10));
  const double rate = f.num("rate", 0);
  const std::string topic_tmpl = f.str("topic", "plant/{client}/telemetry");
  const std::string prefix = f.str("client-prefix", "lg");
  const double drain_timeout_s = f.num("drain-timeout", 30);
  const double connect_timeout_s = f.num("connect-timeout", 15);
  const double warmup_s = f.num("warmup", 0);
  if (nclients < 1 || window < 1 || window > 60000 || qos < 0 || qos > 2) return usage();

  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_INET;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
      std::fprintf(stderr, "gw-loadgen: cannot resolve %s\n", host.c_str());
      return 2;
    }
    addr.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
    ::freeaddrinfo(res);
  }

  mqtt::Properties props;
  for (const auto& kv : f.all("prop")) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) return usage();
    props.user.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  Runner runner(addr, v5 ? mqtt::ProtocolVersion::kV5 : mqtt::ProtocolVersion::kV311, qos, window, props);

  std::vector<Client> clients(static_cast<size_t>(nclients));
  for (int i = 0; i < nclients; ++i) {
    Client& c = clients[static_cast<size_t>(i)];
    c.id = prefix + "-" + std::to_string(i);
    c.topic = topic_tmpl;
    if (auto pos = c.topic.find("{client}"); pos != std::string::npos) c.topic.replace(pos, 8, c.id);
    runner.start_connect(c);
  }

  PayloadMaker maker(static_cast<size_t>(f.num("size", 0)), static_cast<uint64_t>(f.num("seed", 1)));
  const auto t0 = Clock::now();
  Clock::time_point start{}, send_end{}, drain_deadline{};
  enum class Phase { kConnect, kSend, kDrain, kDone } phase = Phase::kConnect;
  auto until = Clock::time_point::max();
  Stats& st = runner.stats();

  while (phase != Phase::kDone) {
    const auto now = Clock::now();
    if (phase == Phase::kConnect) {
      if (std::all_of(clients.begin(), clients.end(), [](const Client& c) { return c.state == State::kUp; })) {
        phase = Phase::kSend;
        start = now;
        st.warm_until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup_s));
        if (idle_s > 0) std::fprintf(stderr, "connected %d\n", nclients);
        if (duration_s > 0) until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration_s));
      } else if (now - t0 > std::chrono::duration<double>(connect_timeout_s) || g_stop) {
        std::fprintf(stderr, "gw-loadgen: not every client connected to %s:%d within %.0fs\n", host.c_str(), port,
                     connect_timeout_s);
        return 1;
      }
    }
    if (phase == Phase::kSend) {
      const bool time_up = g_stop || now >= until;
      bool all_done = true;
      // Round-robin one message per client per pass, so the rate is spread.
      for (bool progressed = true; progressed;) {
        progressed = false;
        for (auto& c : clients) {
          if (idle_s > 0) {
            all_done = time_up;
            break;
          }
          if (time_up || (messages > 0 && c.next_seq > messages)) continue;
          all_done = false;
          if (!runner.can_publish(c)) continue;
          if (rate > 0 && static_cast<double>(st.sent) >= rate * std::chrono::duration<double>(now - start).count()) {
            break;
          }
          runner.publish(c, maker.make(c.id, c.next_seq));
          progressed = true;
        }
      }
      if (all_done) {
        phase = Phase::kDrain;
        send_end = now;
        drain_deadline = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(drain_timeout_s));
      }
    }
    if (phase == Phase::kDrain) {
      const bool empty = std::all_of(clients.begin(), clients.end(),
                                     [](const Client& c) { return c.pending.empty() && c.wbuf.empty(); });
      if (empty || now >= drain_deadline || g_stop) {
        phase = Phase::kDone;
        break;
      }
    }
    for (auto& c : clients) {
      if (c.fd < 0 && c.state == State::kIdle && now >= c.retry_at && phase != Phase::kDrain) runner.start_connect(c);
      if (c.fd < 0) continue;
      runner.keepalive(c, now);
      // One send per client per pass, of everything this pass queued (the
      // publishes up to its window, a PUBREL, a PINGREQ).
      if (!c.wbuf.empty()) runner.flush(c);
    }
    // Short timeout: rate pacing and reconnects are checked every pass.
    runner.wait_and_handle(rate > 0 || phase != Phase::kSend ? 1 : 5);
  }
  const auto end = Clock::now();
  if (send_end == Clock::time_point{}) send_end = end;

  AckedMap acked;
  uint64_t unacked = 0;
  for (auto& c : clients) {
    if (c.fd >= 0) {
      std::string bye;
      mqtt::encode(mqtt::Disconnect{}, v5 ? mqtt::ProtocolVersion::kV5 : mqtt::ProtocolVersion::kV311, bye);
      (void)!::send(c.fd, bye.data(), bye.size(), MSG_NOSIGNAL);
      ::close(c.fd);
    }
    auto bits = c.acked;
    bits.resize(c.next_seq, false);
    for (size_t s = 1; s < bits.size(); ++s) unacked += bits[s] ? 0 : 1;
    acked[c.id] = std::move(bits);
  }
  if (f.has("acked") && !write_acked_file(f.str("acked"), acked)) {
    std::fprintf(stderr, "gw-loadgen: cannot write %s\n", f.str("acked").c_str());
    return 1;
  }
  const double send_s = std::chrono::duration<double>(send_end - start).count();
  const double total_s = std::chrono::duration<double>(end - start).count();
  auto& lat = st.latencies_us;
  JsonLine out;
  out.add("tool", "loadgen");
  if (f.has("label")) out.add("label", f.str("label"));
  out.add("clients", nclients)
      .add("qos", qos)
      .add("mqtt", v5 ? "5" : "3.1.1")
      .add("window", static_cast<uint64_t>(window))
      .add("target_rate", rate)
      .add("sent", st.sent)
      .add("acked", st.acked)
      .add("unacked", unacked)
      .add("refused", st.refused)
      .add("abandoned", st.abandoned)
      .add("disconnects", st.disconnects)
      .add("send_s", send_s)
      .add("elapsed_s", total_s)
      .add("msg_per_s", total_s > 0 ? static_cast<double>(st.acked) / total_s : 0.0)
      .add("warmup_s", warmup_s)
      .add("ack_p50_ms", percentile(lat, 50) / 1000.0)
      .add("ack_p99_ms", percentile(lat, 99) / 1000.0)
      .add("ack_max_ms", lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()) / 1000.0)
      .add("seen_p50_ms", percentile(st.seen_us, 50) / 1000.0)
      .add("seen_p99_ms", percentile(st.seen_us, 99) / 1000.0);
  if (f.has("csv")) {
    std::printf("%s\n%s\n", out.csv_header().c_str(), out.csv_row().c_str());
  } else {
    std::printf("%s\n", out.json().c_str());
  }
  return 0;
}

}  // namespace
}  // namespace gw::tools

int main(int argc, char** argv) { return gw::tools::run(argc, argv); }
