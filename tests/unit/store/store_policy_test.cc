// Store policies of issue 4 on real SQLite files: caps (reject, evict),
// TTL and dead letters, priorities with a lower-priority share, live-first
// replay, order across restarts, damaged files moved aside, a full disk on a
// small tmpfs, and the flash-wear counters. Time is the FakeClock's; the
// writer's sweeps are forced with expire_now().
#include <sqlite3.h>
#include <sys/mount.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "gateway/store/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/process.h"

namespace gw::store {
namespace {

using namespace std::chrono_literals;
using gw::testing::FakeClock;
using gw::testing::TempDir;
namespace fs = std::filesystem;

int64_t query_int(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close_v2(db);
  return v;
}

void exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close_v2(db);
}

NewRow row(int priority, std::string payload, std::string route = "r", std::string uplink = "c") {
  NewRow r;
  r.uplink = std::move(uplink);
  r.route = std::move(route);
  r.priority = priority;
  r.message.topic = "t";
  r.message.payload = std::move(payload);
  r.message.qos = 1;
  r.message.client_id = "dev";
  r.message.received_at_ms = 1'700'000'000'000;
  return r;
}

std::vector<NewRow> one(NewRow r) {
  std::vector<NewRow> rows;
  rows.push_back(std::move(r));
  return rows;
}

std::vector<std::string> payloads(const std::vector<StoredRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.message.payload);
  return out;
}

std::vector<int64_t> seqs(const std::vector<StoredRow>& rows) {
  std::vector<int64_t> out;
  for (const auto& r : rows) out.push_back(r.seq);
  return out;
}

// Accounted bytes of row(p, payload) (SCHEMA.md, "Caps").
uint64_t accounted(const std::string& payload) { return payload.size() + 1 + kRowOverheadBytes; }

class StorePolicyTest : public ::testing::Test {
 protected:
  StoreOptions options() const {
    StoreOptions o;
    o.path = (dir_ / "queue.db").string();
    o.durability = Durability::kOs;
    o.group_window = 1ms;
    return o;
  }
  std::unique_ptr<Store> open(const StoreOptions& o) {
    auto s = Store::open(o, clock_);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return s.is_ok() ? std::move(s).value() : nullptr;
  }
  static Status append_sync(Store& store, std::vector<NewRow> rows) {
    std::promise<Status> p;
    auto f = p.get_future();
    Status s = store.append(std::move(rows), [&p](const Status& st) { p.set_value(st); });
    if (!s.is_ok()) return s;
    return f.get();
  }
  std::unique_ptr<Store> live_first_after_outage();

  TempDir dir_;
  FakeClock clock_;
};

// ---- caps ----------------------------------------------------------------------

TEST_F(StorePolicyTest, RejectRefusesWithResourceExhaustedAndStoresNothingMore) {
  auto o = options();
  const std::string payload(100, 'x');
  o.max_bytes = 10 * accounted(payload);
  o.on_full = FullPolicy::kReject;
  auto store = open(o);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(append_sync(*store, one(row(0, payload))).is_ok()) << i;
  bool called = false;
  Status full = store->append(one(row(9, payload)), [&called](const Status&) { called = true; });
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted) << full.to_string();
  EXPECT_NE(full.message().find("max_bytes"), std::string::npos) << full.to_string();
  EXPECT_FALSE(called) << "a refused append is not completed";
  store->flush();
  EXPECT_EQ(*store->count("c"), 10);
  EXPECT_EQ(store->stats().full_rejects, 1u);
  EXPECT_EQ(store->stats().bytes_stored, 10 * accounted(payload));

  // The cloud acknowledges some rows: room again.
  auto leased = store->lease("c", 3, 1 << 20);
  ASSERT_TRUE(leased.is_ok());
  store->ack("c", seqs(*leased), 1);
  store->flush();
  EXPECT_TRUE(append_sync(*store, one(row(0, payload))).is_ok());
  EXPECT_EQ(*store->count("c"), 8);
}

TEST_F(StorePolicyTest, EvictDropsLowestPriorityOldestFirstAndNeverAHigherOne) {
  auto o = options();
  const std::string payload(100, 'x');
  o.max_bytes = 6 * accounted(payload);
  o.on_full = FullPolicy::kEvict;
  auto store = open(o);
  // Three low (1) rows, then three high (5) rows: full.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(append_sync(*store, one(row(1, "low" + std::to_string(i) + std::string(96, 'x')))).is_ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(append_sync(*store, one(row(5, "hi" + std::to_string(i) + std::string(97, 'x')))).is_ok());
  // Two more high rows: the two oldest low rows go.
  for (int i = 3; i < 5; ++i) ASSERT_TRUE(append_sync(*store, one(row(5, "hi" + std::to_string(i) + std::string(97, 'x')))).is_ok());
  EXPECT_EQ(store->stats().rows_evicted, 2u);
  // A priority-0 row may not evict anything above it: refused.
  Status low = append_sync(*store, one(row(0, payload)));
  EXPECT_EQ(low.code(), StatusCode::kResourceExhausted) << low.to_string();
  EXPECT_EQ(store->stats().full_rejects, 1u);

  auto all = store->lease("c", 100, 1 << 20);
  ASSERT_TRUE(all.is_ok());
  std::vector<std::string> heads;
  for (const auto& p : payloads(*all)) heads.push_back(p.substr(0, 4));
  EXPECT_EQ(heads, (std::vector<std::string>{"hi0x", "hi1x", "hi2x", "hi3x", "hi4x", "low2"}));
  EXPECT_LE(store->stats().bytes_stored, o.max_bytes);
}

// Two uplinks with interleaved rows: eviction takes the oldest rows of the
// lowest priority across both, not one uplink's rows first.
TEST_F(StorePolicyTest, EvictIsOldestFirstAcrossUplinks) {
  auto o = options();
  const std::string payload(100, 'x');
  o.max_bytes = 6 * accounted(payload);
  o.on_full = FullPolicy::kEvict;
  auto store = open(o);
  // Rows a0 b0 a1 b1 (priority 1), then a2 b2 (priority 2): full.
  for (int i = 0; i < 3; ++i) {
    for (const char* up : {"a", "b"}) {
      std::string p = std::string(up) + std::to_string(i);
      p += std::string(100 - p.size(), 'x');
      ASSERT_TRUE(append_sync(*store, one(row(i < 2 ? 1 : 2, p, "r", up))).is_ok());
    }
  }
  // Three more rows of priority 2 need three rows' room: a0, b0, a1 go, b1 stays.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(append_sync(*store, one(row(2, payload, "r", "a"))).is_ok());
  EXPECT_EQ(store->stats().rows_evicted, 3u);
  auto a = store->lease("a", 100, 1 << 20);
  auto b = store->lease("b", 100, 1 << 20);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  std::vector<std::string> heads;
  for (const auto& p : payloads(*b)) heads.push_back(p.substr(0, 2));
  EXPECT_EQ(heads, (std::vector<std::string>{"b2", "b1"}));
  EXPECT_EQ(a->size(), 4u);  // a2 and the three new ones
  EXPECT_LE(store->stats().bytes_stored, o.max_bytes);
}

// ---- TTL and dead letters --------------------------------------------------------

TEST_F(StorePolicyTest, ExpiredRowsAreNeverLeasedAndMoveToDeadLetters) {
  auto store = open(options());
  auto expiring = row(0, "soon");
  expiring.expires_at_ms = clock_.wall_ms() + 1000;
  ASSERT_TRUE(append_sync(*store, one(std::move(expiring))).is_ok());
  ASSERT_TRUE(append_sync(*store, one(row(0, "forever"))).is_ok());

  clock_.advance(1001ms);
  // Not leased although the sweep has not run yet.
  auto leased = store->lease("c", 10, 1 << 20);
  ASSERT_TRUE(leased.is_ok());
  EXPECT_EQ(payloads(*leased), (std::vector<std::string>{"forever"}));
  store->release("c", seqs(*leased));

  store->expire_now();
  EXPECT_EQ(store->stats().rows_expired, 1u);
  EXPECT_EQ(store->stats().rows_dead_lettered, 1u);
  EXPECT_EQ(*store->count("c"), 1);
  const std::string path = options().path;
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM dead_letters WHERE reason = 'expired' AND "
                            "payload = CAST('soon' AS BLOB)"),
            1);
}

TEST_F(StorePolicyTest, ExpiryDropPolicyKeepsNoDeadLetter) {
  auto o = options();
  o.on_expiry = ExpiryPolicy::kDrop;
  auto store = open(o);
  for (int i = 0; i < 3; ++i) {
    auto r = row(0, "x");
    r.expires_at_ms = clock_.wall_ms() + 10;
    ASSERT_TRUE(append_sync(*store, one(std::move(r))).is_ok());
  }
  clock_.advance(11ms);
  store->expire_now();
  EXPECT_EQ(store->stats().rows_expired, 3u);
  EXPECT_EQ(store->stats().rows_dead_lettered, 0u);
  EXPECT_EQ(*store->count("c"), 0);
  EXPECT_EQ(query_int(o.path, "SELECT count(*) FROM dead_letters"), 0);
}

TEST_F(StorePolicyTest, UndecodablePropertiesGoToDeadLettersInsteadOfBlockingTheUplink) {
  auto store = open(options());
  ASSERT_TRUE(append_sync(*store, one(row(0, "first"))).is_ok());
  ASSERT_TRUE(append_sync(*store, one(row(0, "broken"))).is_ok());
  ASSERT_TRUE(append_sync(*store, one(row(0, "third"))).is_ok());
  exec(options().path, "UPDATE messages SET props = x'FF00' WHERE payload = CAST('broken' AS BLOB)");
  auto leased = store->lease("c", 10, 1 << 20);
  ASSERT_TRUE(leased.is_ok()) << leased.status().to_string();
  EXPECT_EQ(payloads(*leased), (std::vector<std::string>{"first", "third"}));
  store->flush();
  EXPECT_EQ(query_int(options().path,
                      "SELECT count(*) FROM dead_letters WHERE reason LIKE 'undecodable%'"),
            1);
  EXPECT_EQ(*store->count("c"), 2);
}

// ---- priorities and replay ---------------------------------------------------------

TEST_F(StorePolicyTest, LowerPriorityShareGoesToTheOldestLowerRows) {
  auto store = open(options());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append_sync(*store, one(row(2, "low" + std::to_string(i)))).is_ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append_sync(*store, one(row(7, "hi" + std::to_string(i)))).is_ok());
  auto a = store->lease("c", 10, 1 << 20);
  ASSERT_TRUE(a.is_ok());
  // 20% of 10: two low rows, the oldest; high rows first in the result.
  EXPECT_EQ(payloads(*a), (std::vector<std::string>{"hi0", "hi1", "hi2", "hi3", "hi4", "hi5",
                                                    "hi6", "hi7", "low0", "low1"}));
  // Small leases get their share over several calls (credit): 5 leases of 1 row.
  std::vector<std::string> singles;
  for (int i = 0; i < 5; ++i) {
    auto s = store->lease("c", 1, 1 << 20);
    ASSERT_TRUE(s.is_ok());
    for (auto& p : payloads(*s)) singles.push_back(p);
  }
  EXPECT_EQ(singles, (std::vector<std::string>{"hi8", "hi9", "hi10", "hi11", "low2"}));

  // Share 0: strictly by priority.
  auto o = options();
  o.path = (dir_ / "strict.db").string();
  o.lower_priority_share = 0;
  auto strict = open(o);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(append_sync(*strict, one(row(2, "low"))).is_ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(append_sync(*strict, one(row(7, "hi"))).is_ok());
  EXPECT_EQ(payloads(*strict->lease("c", 5, 1 << 20)),
            (std::vector<std::string>(5, "hi")));
}

// A live_first store for uplink "c" holding "old0".."old4" from before an
// outage: backlog now.
std::unique_ptr<Store> StorePolicyTest::live_first_after_outage() {
  auto o = options();
  o.replay["c"] = Replay::kLiveFirst;
  o.live_window = 10s;
  o.lower_priority_share = 0;
  auto store = open(o);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(append_sync(*store, one(row(0, "old" + std::to_string(i)))).is_ok());
  clock_.advance(60s);
  return store;
}

TEST_F(StorePolicyTest, LiveFirstSendsNewRowsBeforeTheBacklogEachPartInOrder) {
  auto store = live_first_after_outage();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(append_sync(*store, one(row(0, "new" + std::to_string(i)))).is_ok());
  auto a = store->lease("c", 4, 1 << 20);
  ASSERT_TRUE(a.is_ok());
  // Live rows first (oldest first among them), then the oldest backlog row;
  // returned in seq order within the priority.
  EXPECT_EQ(payloads(*a), (std::vector<std::string>{"old0", "new0", "new1", "new2"}));
  auto b = store->lease("c", 10, 1 << 20);
  EXPECT_EQ(payloads(*b), (std::vector<std::string>{"old1", "old2", "old3", "old4"}));

  // oldest_first (default) on the same data: strict FIFO.
  auto o2 = options();
  o2.path = (dir_ / "fifo.db").string();
  o2.lower_priority_share = 0;
  auto fifo = open(o2);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(append_sync(*fifo, one(row(0, "old" + std::to_string(i)))).is_ok());
  clock_.advance(60s);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(append_sync(*fifo, one(row(0, "new" + std::to_string(i)))).is_ok());
  EXPECT_EQ(payloads(*fifo->lease("c", 4, 1 << 20)),
            (std::vector<std::string>{"old0", "old1", "old2", "old3"}));
}

// A group's rows go in up to 16 per statement: all 20 of one append are
// live, not only those of its last statement.
TEST_F(StorePolicyTest, LiveFirstCountsEveryRowOfALargeGroup) {
  auto store = live_first_after_outage();
  std::vector<NewRow> fresh;
  std::vector<std::string> want;
  for (int i = 0; i < 20; ++i) {
    fresh.push_back(row(0, "new" + std::to_string(i)));
    want.push_back("new" + std::to_string(i));
  }
  ASSERT_TRUE(append_sync(*store, fresh).is_ok());
  EXPECT_EQ(payloads(*store->lease("c", 20, 1 << 20)), want);
}

TEST_F(StorePolicyTest, RestartKeepsFifoPerRouteAcrossRetries) {
  std::map<std::string, std::vector<std::string>> sent;
  {
    auto store = open(options());
    for (int i = 0; i < 30; ++i) {
      const std::string route = i % 3 == 0 ? "a" : (i % 3 == 1 ? "b" : "c");
      ASSERT_TRUE(append_sync(*store, one(row(i % 3 == 0 ? 5 : 1, route + std::to_string(i), route))).is_ok());
    }
    // A batch fails and is released: the next lease takes the same rows again,
    // in order, and is acknowledged; a third batch is in flight at the crash.
    auto failed = store->lease("c", 4, 1 << 20);
    ASSERT_TRUE(failed.is_ok());
    store->release("c", seqs(*failed));
    auto acked = store->lease("c", 4, 1 << 20);
    ASSERT_TRUE(acked.is_ok());
    EXPECT_EQ(acked->front().seq, failed->front().seq);
    store->ack("c", seqs(*acked), 1);
    for (const auto& r : *acked) sent[r.route].push_back(r.message.payload);
    (void)store->lease("c", 4, 1 << 20);
  }
  auto store = open(options());
  for (;;) {
    auto rows = store->lease("c", 3, 1 << 20);
    ASSERT_TRUE(rows.is_ok());
    if (rows->empty()) break;
    for (const auto& r : *rows) sent[r.route].push_back(r.message.payload);
    store->ack("c", seqs(*rows), 2);
  }
  store->flush();
  ASSERT_EQ(sent.size(), 3u);
  for (const auto& [route, list] : sent) {
    EXPECT_EQ(list.size(), 10u) << route;
    for (size_t i = 1; i < list.size(); ++i) {
      EXPECT_LT(std::stoi(list[i - 1].substr(1)), std::stoi(list[i].substr(1)))
          << "route " << route << " out of order at " << i;
    }
  }
}

// ---- integrity -------------------------------------------------------------------

class DamagedFile : public StorePolicyTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(DamagedFile, IsMovedAsideWithItsWalAndAFreshQueueStarts) {
  const fs::path fixture = gw::testing::source_path(std::string("tests/fixtures/store/") + GetParam());
  ASSERT_TRUE(fs::exists(fixture)) << fixture;
  fs::copy_file(fixture, dir_ / "queue.db");
  gw::testing::write_file(dir_ / "queue.db-wal", "stale wal");
  auto store = open(options());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->stats().moved_aside);
  std::vector<std::string> aside;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("queue.db.damaged-", 0) == 0) aside.push_back(name);
  }
  std::sort(aside.begin(), aside.end());
  ASSERT_GE(aside.size(), 2u) << "the file and its -wal (and -shm)";
  EXPECT_EQ(fs::file_size(dir_ / aside[0]), fs::file_size(fixture));
  EXPECT_EQ(std::count(aside.begin(), aside.end(), aside[0] + "-wal"), 1);
  // The fresh queue works.
  ASSERT_TRUE(append_sync(*store, one(row(0, "after"))).is_ok());
  EXPECT_EQ(*store->count("c"), 1);
  store.reset();
  // And the next start is a normal one (no crash loop, nothing more moved).
  auto again = open(options());
  ASSERT_NE(again, nullptr);
  EXPECT_FALSE(again->stats().moved_aside);
  EXPECT_EQ(*again->count("c"), 1);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DamagedFile,
                         ::testing::Values("corrupt_pages.db", "not_a_database.db"));

// ---- external changes, flash wear ---------------------------------------------------

TEST_F(StorePolicyTest, TotalsFollowChangesByAnotherProcess) {
  auto store = open(options());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(append_sync(*store, one(row(0, "x"))).is_ok());
  EXPECT_EQ(store->stats().rows_stored, 5u);
  exec(options().path, "DELETE FROM messages WHERE seq <= 3");  // as `queue purge` would
  store->expire_now();  // runs the writer's maintenance
  EXPECT_EQ(store->stats().rows_stored, 2u);
  EXPECT_EQ(store->stats().bytes_stored, 2 * accounted("x"));
}

TEST_F(StorePolicyTest, CountsBytesWritten) {
  auto store = open(options());
  const std::string payload(200, 'p');
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(store->append(one(row(0, payload)), {}).is_ok());
  store->flush();
  const StoreStats s = store->stats();
  EXPECT_GE(s.sqlite_bytes_written, 200u * 200u) << "at least the payloads reached the WAL";
  EXPECT_LT(s.sqlite_bytes_written, 200u * 200u * 50u);
}

// ---- disk full -------------------------------------------------------------------

// The database on a 2 MiB tmpfs mounted by the test. A filler file takes the
// rest of the space; appends then fail with kResourceExhausted, nothing is
// acknowledged that is not stored, the file stays intact, and once the filler
// is removed the store accepts again after its back-off.
TEST_F(StorePolicyTest, DiskFullNeverAcksWhatItDidNotStoreAndRecovers) {
  const fs::path mnt = dir_ / "small";
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=2m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                 << "); the disk-full test needs root or CAP_SYS_ADMIN";
  }
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};

  auto o = options();
  o.path = (mnt / "queue.db").string();
  o.retry_initial = 20ms;
  o.retry_max = 50ms;
  std::set<std::string> acked;
  int refused = 0;
  {
    auto store = open(o);
    ASSERT_NE(store, nullptr);
    // Fill most of the filesystem with another file.
    {
      std::ofstream filler(mnt / "filler", std::ios::binary);
      std::string block(64 * 1024, 'f');
      for (int i = 0; i < 26; ++i) filler.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
    const std::string payload(4000, 'd');
    for (int i = 0; i < 400 && refused < 20; ++i) {
      const std::string p = std::to_string(i) + payload;
      Status s = append_sync(*store, one(row(0, p)));
      if (s.is_ok()) {
        acked.insert(p);
      } else {
        ++refused;
        EXPECT_TRUE(s.code() == StatusCode::kResourceExhausted || s.code() == StatusCode::kUnavailable)
            << s.to_string();
      }
    }
    ASSERT_GT(refused, 0) << "the disk never filled";
    ASSERT_FALSE(acked.empty());
    EXPECT_GT(store->stats().failed_commits, 0u);
    // Space comes back: the store accepts again after its back-off.
    fs::remove(mnt / "filler");
    Status later;
    for (int i = 0; i < 100; ++i) {
      later = append_sync(*store, one(row(0, "after")));
      if (later.is_ok()) break;
      std::this_thread::sleep_for(10ms);  // the back-off is real time
    }
    EXPECT_TRUE(later.is_ok()) << later.to_string();
    EXPECT_GE(store->stats().recoveries, 1u);
    acked.insert("after");
  }
  EXPECT_EQ(query_int(o.path, "SELECT count(*) FROM messages"), static_cast<int64_t>(acked.size()));
  // Every acknowledged payload is there, and the file is intact.
  auto store = open(o);
  std::set<std::string> stored;
  for (;;) {
    auto rows = store->lease("c", 100, 1 << 24);
    ASSERT_TRUE(rows.is_ok());
    if (rows->empty()) break;
    for (auto& p : payloads(*rows)) stored.insert(p);
  }
  EXPECT_EQ(stored, acked);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(o.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close_v2(db);
}

}  // namespace
}  // namespace gw::store
