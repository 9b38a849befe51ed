// gw-faultproxy: a userspace TCP proxy that makes a link bad, for fault
// tests where the kernel has no netem qdisc (scripts/netfault uses it then).
//
//   gw-faultproxy --listen 127.0.0.1:PORT --target HOST:PORT
//                 [--delay-ms D] [--loss P] [--rate-kbit K] [--seed S]
//
// What it does to the bytes, per direction, in order:
//   --delay-ms  every chunk read is held D ms before it is written (added
//               one-way latency; both directions, so the RTT grows by 2·D);
//   --loss      approximates packet loss on TCP, which the application sees
//               as stalls: each chunk is "lost" with probability P and then
//               only delivered after a retransmission timeout (200 ms,
//               doubling for each consecutive loss, at most 3.2 s), keeping
//               order. This is not netem: no segments are dropped, so
//               throughput collapse and SACK behaviour are not reproduced;
//   --rate-kbit a token bucket on each direction (bandwidth cap).
// SIGUSR1 takes the link down (open connections are reset, new ones are
// accepted and closed at once); SIGUSR2 brings it back up. Prints
// "faultproxy: listening PORT" on stdout once it accepts.
//
// Single-threaded poll loop. Test tool: not hardened for hostile peers.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <list>
#include <random>

#include "tests/tools/tool_util.h"

namespace gw::tools {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
std::atomic<int> g_link{1};  // 1 up, 0 down
void on_term(int) { g_stop = true; }
void on_down(int) { g_link = 0; }
void on_up(int) { g_link = 1; }

struct Chunk {
  Clock::time_point due;
  std::string bytes;
};

struct Direction {
  int from = -1, to = -1;
  std::deque<Chunk> queue;
  size_t queued = 0;
  int consecutive_losses = 0;
  double tokens = 0;  // bytes
  Clock::time_point last_refill = Clock::now();
  bool eof = false;
};

struct Pair {
  int a = -1, b = -1;  // client side, target side
  bool connected = false;
  Direction up, down;  // a->b, b->a
  bool dead = false;
};

struct Options {
  std::chrono::milliseconds delay{0};
  double loss = 0;
  double rate_bytes_s = 0;  // 0: unlimited
};

bool parse_hostport(const std::string& s, sockaddr_in& out) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  out = {};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<uint16_t>(std::stoi(s.substr(colon + 1))));
  return ::inet_pton(AF_INET, s.substr(0, colon).c_str(), &out.sin_addr) == 1;
}

void close_pair(Pair& p) {
  if (p.a >= 0) {
    linger l{1, 0};  // reset, like a link that died
    ::setsockopt(p.a, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(p.a);
  }
  if (p.b >= 0) {
    linger l{1, 0};
    ::setsockopt(p.b, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(p.b);
  }
  p.a = p.b = -1;
  p.dead = true;
}

class Proxy {
 public:
  Proxy(Options o, uint64_t seed) : opt_(o), rng_(seed) {}

  // Reads what is available into the direction's queue, stamped with its due time.
  bool read_side(Direction& d) {
    char buf[16384];
    for (;;) {
      // Backpressure: stop reading while much is queued.
      if (d.queued > (1u << 20)) return true;
      const ssize_t n = ::recv(d.from, buf, sizeof buf, 0);
      if (n > 0) {
        auto due = Clock::now() + opt_.delay;
        if (opt_.loss > 0) {
          std::bernoulli_distribution lost(opt_.loss);
          if (lost(rng_)) {
            const int k = std::min(d.consecutive_losses++, 4);
            due += std::chrono::milliseconds(200 << k);
          } else {
            d.consecutive_losses = 0;
          }
        }
        // Keep order: never due before the chunk ahead of it.
        if (!d.queue.empty() && due < d.queue.back().due) due = d.queue.back().due;
        d.queue.push_back(Chunk{due, std::string(buf, static_cast<size_t>(n))});
        d.queued += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) {
        d.eof = true;
        return true;
      }
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }

  // Writes what is due and allowed by the token bucket; false on error.
  bool write_side(Direction& d, Clock::time_point now) {
    if (opt_.rate_bytes_s > 0) {
      const double dt = std::chrono::duration<double>(now - d.last_refill).count();
      d.tokens = std::min(d.tokens + dt * opt_.rate_bytes_s, std::max(2048.0, opt_.rate_bytes_s / 10));
      d.last_refill = now;
    }
    while (!d.queue.empty() && d.queue.front().due <= now) {
      auto& c = d.queue.front();
      size_t want = c.bytes.size();
      if (opt_.rate_bytes_s > 0) {
        if (d.tokens < 1) return true;
        want = std::min(want, static_cast<size_t>(d.tokens));
      }
      const ssize_t n = ::send(d.to, c.bytes.data(), want, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      if (opt_.rate_bytes_s > 0) d.tokens -= static_cast<double>(n);
      d.queued -= static_cast<size_t>(n);
      c.bytes.erase(0, static_cast<size_t>(n));
      if (c.bytes.empty()) d.queue.pop_front();
      if (static_cast<size_t>(n) < want) return true;
    }
    if (d.queue.empty() && d.eof) ::shutdown(d.to, SHUT_WR);
    return true;
  }

 private:
  Options opt_;
  std::mt19937_64 rng_;
};

int run(int argc, char** argv) {
  Flags f(argc, argv, {"listen", "target", "delay-ms", "loss", "rate-kbit", "seed", "help"});
  sockaddr_in listen_addr{}, target{};
  if (f.has("help") || !parse_hostport(f.str("listen", "127.0.0.1:0"), listen_addr) ||
      !parse_hostport(f.str("target"), target)) {
    std::fprintf(stderr,
                 "usage: gw-faultproxy --listen 127.0.0.1:PORT --target HOST:PORT [--delay-ms D] [--loss P] "
                 "[--rate-kbit K] [--seed S]\n  SIGUSR1: link down, SIGUSR2: link up\n");
    return 2;
  }
  Options opt;
  opt.delay = std::chrono::milliseconds(static_cast<int64_t>(f.num("delay-ms", 0)));
  opt.loss = f.num("loss", 0);
  opt.rate_bytes_s = f.num("rate-kbit", 0) * 1000.0 / 8.0;
  Proxy proxy(opt, static_cast<uint64_t>(f.num("seed", 1)));

  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  signal(SIGUSR1, on_down);
  signal(SIGUSR2, on_up);
  signal(SIGPIPE, SIG_IGN);

  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&listen_addr), sizeof listen_addr) != 0 || ::listen(lfd, 128) != 0) {
    std::perror("gw-faultproxy: bind/listen");
    return 1;
  }
  socklen_t len = sizeof listen_addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&listen_addr), &len);
  std::printf("faultproxy: listening %d\n", ntohs(listen_addr.sin_port));
  std::fflush(stdout);

  std::list<Pair> pairs;
  std::vector<pollfd> pfds;
  std::vector<std::pair<Pair*, int>> owners;  // pfds[i] -> (pair, 0 a / 1 b); nullptr = listener
  int last_link = 1;
  while (!g_stop) {
    const int link = g_link.load();
    if (link == 0 && last_link == 1) {
      for (auto& p : pairs) close_pair(p);
    }
    last_link = link;
    pairs.remove_if([](const Pair& p) { return p.dead; });

    const auto now = Clock::now();
    pfds.clear();
    owners.clear();
    pfds.push_back(pollfd{lfd, POLLIN, 0});
    owners.emplace_back(nullptr, 0);
    for (auto& p : pairs) {
      short ea = 0, eb = 0;
      if (!p.connected) {
        eb = POLLOUT;
      } else {
        if (!p.up.eof && p.up.queued < (1u << 20)) ea |= POLLIN;
        if (!p.down.eof && p.down.queued < (1u << 20)) eb |= POLLIN;
        if (!p.up.queue.empty() && p.up.queue.front().due <= now) eb |= POLLOUT;
        if (!p.down.queue.empty() && p.down.queue.front().due <= now) ea |= POLLOUT;
      }
      pfds.push_back(pollfd{p.a, ea, 0});
      owners.emplace_back(&p, 0);
      pfds.push_back(pollfd{p.b, eb, 0});
      owners.emplace_back(&p, 1);
    }
    ::poll(pfds.data(), pfds.size(), 5);

    if (pfds[0].revents & POLLIN) {
      for (;;) {
        const int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) break;
        if (g_link == 0) {
          linger l{1, 0};
          ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
          ::close(c);
          continue;
        }
        Pair p;
        p.a = c;
        p.b = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ::setsockopt(p.a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(p.b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(p.b, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0 && errno != EINPROGRESS) {
          close_pair(p);
          continue;
        }
        p.up.from = p.a;
        p.up.to = p.b;
        p.down.from = p.b;
        p.down.to = p.a;
        pairs.push_back(std::move(p));
      }
    }
    const auto after = Clock::now();
    for (size_t i = 1; i < pfds.size(); i += 2) {
      Pair& p = *owners[i].first;
      if (p.dead) continue;
      const short ra = pfds[i].revents, rb = pfds[i + 1].revents;
      if (!p.connected) {
        if (rb & (POLLOUT | POLLERR | POLLHUP)) {
          int err = 0;
          socklen_t l = sizeof err;
          ::getsockopt(p.b, SOL_SOCKET, SO_ERROR, &err, &l);
          if (err != 0) {
            close_pair(p);
            continue;
          }
          p.connected = true;
        }
        continue;
      }
      bool ok = true;
      if (ra & (POLLIN | POLLHUP | POLLERR)) ok = ok && proxy.read_side(p.up);
      if (rb & (POLLIN | POLLHUP | POLLERR)) ok = ok && proxy.read_side(p.down);
      ok = ok && proxy.write_side(p.up, after) && proxy.write_side(p.down, after);
      if (!ok || (p.up.eof && p.down.eof && p.up.queue.empty() && p.down.queue.empty())) close_pair(p);
    }
  }
  for (auto& p : pairs) close_pair(p);
  ::close(lfd);
  return 0;
}

}  // namespace
}  // namespace gw::tools

int main(int argc, char** argv) { return gw::tools::run(argc, argv); }
