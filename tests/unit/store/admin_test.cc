// QueueAdmin (`edge-gateway queue ...`) on a real queue file that a running
// Store keeps open, as it is used in the field: peek order across uplinks,
// routes and priorities, dead letters peeked, replayed and purged, and a
// read-only open that changes nothing.
#include "gateway/store/admin.h"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "gateway/store/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/process.h"

namespace gw::store {
namespace {

using namespace std::chrono_literals;
using gw::testing::FakeClock;
using gw::testing::TempDir;

NewRow row(std::string uplink, std::string route, int priority, std::string payload) {
  NewRow r;
  r.uplink = std::move(uplink);
  r.route = std::move(route);
  r.priority = priority;
  r.message.topic = "plant/line-1/" + r.route;
  r.message.payload = std::move(payload);
  r.message.qos = 1;
  r.message.client_id = "dev-7";
  r.message.received_at_ms = 1'700'000'000'000;
  return r;
}

std::vector<std::string> payloads(const std::vector<PeekedRow>& rows) {
  std::vector<std::string> out;
  for (const auto& p : rows) out.push_back(p.row.message.payload);
  return out;
}

class QueueAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.path = path();
    o.durability = Durability::kOs;
    auto s = Store::open(o, clock_);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    store_ = std::move(s).value();
  }
  std::string path() const { return (dir_ / "queue.db").string(); }
  void append(NewRow r) {
    std::vector<NewRow> rows;
    rows.push_back(std::move(r));
    std::promise<Status> p;
    auto f = p.get_future();
    ASSERT_TRUE(store_->append(std::move(rows), [&p](const Status& st) { p.set_value(st); }).is_ok());
    ASSERT_TRUE(f.get().is_ok());
  }
  std::unique_ptr<QueueAdmin> admin(bool writable) {
    auto a = QueueAdmin::open(path(), writable);
    EXPECT_TRUE(a.is_ok()) << a.status().to_string();
    return a.is_ok() ? std::move(a).value() : nullptr;
  }
  std::vector<std::string> peek(QueueAdmin& a, std::string_view route, size_t n, bool dead = false) {
    auto rows = a.peek(route, n, dead);
    EXPECT_TRUE(rows.is_ok()) << rows.status().to_string();
    return rows.is_ok() ? payloads(*rows) : std::vector<std::string>{};
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(QueueAdminTest, PeekIsLeaseOrderAcrossUplinksAndRoutes) {
  // Appended out of order: peek shows priority first, then arrival (seq),
  // whichever uplink a row belongs to.
  append(row("aws", "telemetry", 0, "aws-p0-first"));
  append(row("azure", "alarms", 9, "azure-p9"));
  append(row("aws", "alarms", 5, "aws-p5"));
  append(row("azure", "telemetry", 0, "azure-p0"));
  append(row("azure", "alarms", 5, "azure-p5"));
  append(row("aws", "telemetry", 0, "aws-p0-last"));
  auto a = admin(/*writable=*/false);
  ASSERT_NE(a, nullptr);

  EXPECT_EQ(peek(*a, "", 10), (std::vector<std::string>{"azure-p9", "aws-p5", "azure-p5", "aws-p0-first",
                                                         "azure-p0", "aws-p0-last"}));
  EXPECT_EQ(peek(*a, "", 3), (std::vector<std::string>{"azure-p9", "aws-p5", "azure-p5"}));
  EXPECT_EQ(peek(*a, "telemetry", 10), (std::vector<std::string>{"aws-p0-first", "azure-p0", "aws-p0-last"}));
  EXPECT_EQ(peek(*a, "telemetry", 2), (std::vector<std::string>{"aws-p0-first", "azure-p0"}));
  EXPECT_TRUE(peek(*a, "no-such-route", 10).empty());
  EXPECT_TRUE(peek(*a, "", 0).empty());

  // Every field comes back decoded.
  auto rows = a->peek("alarms", 1, false);
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 1u);
  const StoredRow& r = rows->front().row;
  EXPECT_EQ(r.uplink, "azure");
  EXPECT_EQ(r.route, "alarms");
  EXPECT_EQ(r.priority, 9);
  EXPECT_EQ(r.message.topic, "plant/line-1/alarms");
  EXPECT_EQ(r.message.client_id, "dev-7");
  EXPECT_EQ(r.message.qos, 1);
  EXPECT_EQ(r.message.received_at_ms, 1'700'000'000'000);
  EXPECT_TRUE(rows->front().reason.empty());
}

TEST_F(QueueAdminTest, DeadLettersArePeekedReplayedInOrderAndPurged) {
  for (const char* p : {"m1", "m2", "m3", "m4"}) append(row("aws", "telemetry", 0, p));
  auto leased = store_->lease("aws", 3, 1 << 20);
  ASSERT_TRUE(leased.is_ok());
  ASSERT_EQ(leased->size(), 3u);
  std::promise<Status> dead;
  store_->dead_letter("aws", {(*leased)[0].seq, (*leased)[2].seq}, "rejected by the cloud",
                      [&dead](const Status& st) { dead.set_value(st); });
  ASSERT_TRUE(dead.get_future().get().is_ok());
  store_->release("aws", {(*leased)[1].seq});

  {
    auto ro = admin(/*writable=*/false);
    ASSERT_NE(ro, nullptr);
    EXPECT_EQ(peek(*ro, "", 10), (std::vector<std::string>{"m2", "m4"}));
    auto d = ro->peek("", 10, /*dead_letters=*/true);
    ASSERT_TRUE(d.is_ok());
    EXPECT_EQ(payloads(*d), (std::vector<std::string>{"m1", "m3"}));
    EXPECT_EQ(d->front().reason, "rejected by the cloud");
    EXPECT_GT(d->front().dead_at_ms, 0);
    // Read-only: nothing is changed.
    EXPECT_FALSE(ro->replay_dead_letters("").is_ok());
    EXPECT_FALSE(ro->purge_route("telemetry").is_ok());
    auto s = ro->summary();
    ASSERT_TRUE(s.is_ok());
    EXPECT_EQ(s->rows, 2);
    EXPECT_EQ(s->dead_letters, 2);
  }

  auto rw = admin(/*writable=*/true);
  ASSERT_NE(rw, nullptr);
  auto replayed = rw->replay_dead_letters("other-route");
  ASSERT_TRUE(replayed.is_ok());
  EXPECT_EQ(*replayed, 0);
  replayed = rw->replay_dead_letters("telemetry");
  ASSERT_TRUE(replayed.is_ok()) << replayed.status().to_string();
  EXPECT_EQ(*replayed, 2);
  // Back in the queue behind what was there, in their original order.
  EXPECT_EQ(peek(*rw, "", 10), (std::vector<std::string>{"m2", "m4", "m1", "m3"}));
  EXPECT_TRUE(peek(*rw, "", 10, /*dead=*/true).empty());

  auto purged = rw->purge_route("telemetry");
  ASSERT_TRUE(purged.is_ok());
  EXPECT_EQ(*purged, 4);
  auto s = rw->summary();
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->rows, 0);
  EXPECT_EQ(s->bytes, 0);
}

}  // namespace
}  // namespace gw::store
