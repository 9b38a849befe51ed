// Store tests on real SQLite files in temp dirs. Synchronisation is by
// flush(), completions and futures; no sleeps.
#include "gateway/store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "gateway/store/internal/sqlite.h"
#include "tests/support/fake_clock.h"
#include "tests/support/process.h"

namespace gw::store {
namespace {

using namespace std::chrono_literals;
using gw::testing::FakeClock;
using gw::testing::TempDir;

// A separate connection on the same file, as another process would see it.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  int64_t int_query(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }
  std::string text_query(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string v;
    if (sqlite3_step(st) == SQLITE_ROW) {
      v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return v;
  }
  void exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }

 private:
  sqlite3* db_ = nullptr;
};

NewRow make_row(std::string uplink, int priority, std::string payload, std::string route = "r") {
  NewRow row;
  row.uplink = std::move(uplink);
  row.route = std::move(route);
  row.priority = priority;
  row.message.topic = "plant/1/temp";
  row.message.payload = std::move(payload);
  row.message.qos = 1;
  row.message.client_id = "dev-1";
  row.message.received_at_ms = 1'700'000'000'000;
  return row;
}

std::vector<NewRow> one(NewRow row) {
  std::vector<NewRow> rows;
  rows.push_back(std::move(row));
  return rows;
}

std::vector<int64_t> seqs_of(const std::vector<StoredRow>& rows) {
  std::vector<int64_t> out;
  for (const auto& r : rows) out.push_back(r.seq);
  return out;
}

std::vector<std::string> payloads_of(const std::vector<StoredRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.message.payload);
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreOptions options() const {
    StoreOptions o;
    o.path = (dir_ / "var" / "queue.db").string();
    o.durability = Durability::kOs;  // tests don't need fsync; one test covers kFsync
    return o;
  }
  std::unique_ptr<Store> open(const StoreOptions& o) {
    auto s = Store::open(o, clock_);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return s.is_ok() ? std::move(s).value() : nullptr;
  }
  std::unique_ptr<Store> open() { return open(options()); }

  // Appends and waits for the commit; returns the completion's status.
  static Status append_sync(Store& store, std::vector<NewRow> rows) {
    std::promise<Status> p;
    auto f = p.get_future();
    Status s = store.append(std::move(rows), [&p](const Status& st) { p.set_value(st); });
    if (!s.is_ok()) return s;
    return f.get();
  }

  TempDir dir_;
  FakeClock clock_;
};

TEST_F(StoreTest, OpenCreatesFolderWalAndSchemaVersion) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->health().is_ok());
  RawDb raw(options().path);
  EXPECT_EQ(raw.int_query("PRAGMA user_version"), 5);
  EXPECT_EQ(raw.text_query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.int_query("SELECT count(*) FROM sqlite_master WHERE name = 'messages_by_uplink'"),
            1);
}

// Whatever the distribution compiled in (Debian: on), a connection that can
// delete zeroes deleted cells only on pages it writes anyway (FAST = 2): a
// queue deletes every row it stores, and a full secure_delete writes freed
// pages again.
TEST_F(StoreTest, WritableConnectionsUseFastSecureDelete) {
  std::filesystem::create_directories(dir_ / "var");
  auto db = internal::Db::open(options().path, /*create=*/true);
  ASSERT_TRUE(db.is_ok()) << db.status().to_string();
  auto mode = db->query_int("PRAGMA secure_delete");
  ASSERT_TRUE(mode.is_ok());
  EXPECT_EQ(*mode, 2);
}

TEST_F(StoreTest, CompletionRunsOnlyAfterCommitVisibleToAnotherConnection) {
  auto o = options();
  o.durability = Durability::kFsync;
  auto store = open(o);
  ASSERT_TRUE(store);
  std::promise<std::pair<Status, int64_t>> seen;
  auto f = seen.get_future();
  const std::string path = o.path;
  ASSERT_TRUE(store
                  ->append(one(make_row("cloud", 0, "x")),
                           [&seen, path](const Status& s) {
                             // A fresh connection, inside the completion: the row
                             // must already be committed.
                             RawDb raw(path);
                             seen.set_value({s, raw.int_query("SELECT count(*) FROM messages")});
                           })
                  .is_ok());
  auto [status, rows] = f.get();
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_EQ(rows, 1);
}

TEST_F(StoreTest, RowsSurviveReopenWithAllFieldsAndProperties) {
  NewRow row = make_row("cloud", 7, std::string("bin\0ary\xff", 8), "alarms");
  row.expires_at_ms = 1'800'000'000'000;
  row.cloud_topic = "dt/gw/alarms";
  Message& m = row.message;
  m.retain = true;
  m.qos = 1;
  m.username = "alice";
  m.protocol_version = 5;
  m.properties.user = {{"severity", "high"}, {"line", "3"}, {"severity", "again"}};
  m.properties.content_type = "application/json";
  m.properties.payload_format = 0;
  m.properties.message_expiry_s = 3600;
  m.properties.response_topic = "reply/here";
  m.properties.correlation_data = std::string("\0\1\2", 3);
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(append_sync(*store, one(row)).is_ok());
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto leased = store->lease("cloud", 10, 1 << 20);
  ASSERT_TRUE(leased.is_ok()) << leased.status().to_string();
  ASSERT_EQ(leased->size(), 1u);
  const StoredRow& got = (*leased)[0];
  EXPECT_GT(got.seq, 0);
  EXPECT_EQ(got.uplink, "cloud");
  EXPECT_EQ(got.route, "alarms");
  EXPECT_EQ(got.priority, 7);
  EXPECT_EQ(got.expires_at_ms, row.expires_at_ms);
  EXPECT_EQ(got.cloud_topic, "dt/gw/alarms");
  EXPECT_EQ(got.message, row.message);
}

// Rows are inserted up to 16 per statement: 37 rows in one group span full
// statements and a shorter last one. Each row must come back with its own
// fields (properties on every third one) and seqs in append order.
TEST_F(StoreTest, ManyRowsInOneGroupKeepTheirFieldsAndOrder) {
  std::vector<NewRow> rows;
  for (int i = 0; i < 37; ++i) {
    NewRow row = make_row(i % 2 ? "a" : "b", i % 3, "payload-" + std::to_string(i), "r" + std::to_string(i % 5));
    row.cloud_topic = i % 4 ? "" : "dt/" + std::to_string(i);
    row.expires_at_ms = i % 7 ? 0 : 1'800'000'000'000 + i;
    row.message.topic = "plant/" + std::to_string(i);
    row.message.client_id = "dev-" + std::to_string(i);
    row.message.received_at_ms = 1'700'000'000'000 + i;
    if (i % 3 == 0) {
      row.message.protocol_version = 5;
      row.message.properties.user = {{"i", std::to_string(i)}};
      row.message.properties.content_type = "text/" + std::to_string(i);
    }
    rows.push_back(std::move(row));
  }
  {
    auto store = open();
    ASSERT_TRUE(append_sync(*store, rows).is_ok());
    EXPECT_EQ(store->stats().commits, 1u);
  }
  auto store = open();
  std::vector<StoredRow> got;
  for (const char* uplink : {"a", "b"}) {
    auto leased = store->lease(uplink, 100, 1 << 20);
    ASSERT_TRUE(leased.is_ok()) << leased.status().to_string();
    got.insert(got.end(), leased->begin(), leased->end());
  }
  ASSERT_EQ(got.size(), rows.size());
  std::sort(got.begin(), got.end(), [](const StoredRow& x, const StoredRow& y) { return x.seq < y.seq; });
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].seq, got[0].seq + static_cast<int64_t>(i));
    EXPECT_EQ(got[i].uplink, rows[i].uplink);
    EXPECT_EQ(got[i].route, rows[i].route);
    EXPECT_EQ(got[i].priority, rows[i].priority);
    EXPECT_EQ(got[i].expires_at_ms, rows[i].expires_at_ms);
    EXPECT_EQ(got[i].cloud_topic, rows[i].cloud_topic);
    EXPECT_EQ(got[i].message, rows[i].message);
  }
}

TEST_F(StoreTest, EmptyPayloadAndNoPropertiesRoundTrip) {
  auto store = open();
  NewRow row = make_row("cloud", 0, "");
  row.message.client_id = "";
  ASSERT_TRUE(append_sync(*store, one(row)).is_ok());
  auto leased = store->lease("cloud", 10, 100);
  ASSERT_TRUE(leased.is_ok());
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_EQ((*leased)[0].message, row.message);
}

TEST_F(StoreTest, LeaseOrderIsPriorityThenSeqAndPerUplink) {
  auto store = open();
  std::vector<NewRow> rows;
  rows.push_back(make_row("cloud", 1, "a"));
  rows.push_back(make_row("cloud", 5, "b"));
  rows.push_back(make_row("other", 9, "z"));
  rows.push_back(make_row("cloud", 1, "c"));
  rows.push_back(make_row("cloud", 5, "d"));
  rows.push_back(make_row("cloud", 0, "e"));
  ASSERT_TRUE(append_sync(*store, std::move(rows)).is_ok());
  auto leased = store->lease("cloud", 100, 1 << 20);
  ASSERT_TRUE(leased.is_ok());
  EXPECT_EQ(payloads_of(*leased), (std::vector<std::string>{"b", "d", "a", "c", "e"}));
  auto seqs = seqs_of(*leased);
  EXPECT_LT(seqs[0], seqs[1]);
  EXPECT_LT(seqs[2], seqs[3]);
  auto other = store->lease("other", 100, 1 << 20);
  ASSERT_TRUE(other.is_ok());
  EXPECT_EQ(payloads_of(*other), (std::vector<std::string>{"z"}));
  EXPECT_EQ(*store->count("cloud"), 5);
  EXPECT_EQ(*store->count("other"), 1);
  EXPECT_EQ(*store->count("none"), 0);
}

TEST_F(StoreTest, DepthPerPriorityWithTheOldestReceiveTimeLeasedRowsIncluded) {
  auto store = open();
  std::vector<NewRow> rows;
  int64_t t = 1'700'000'000'000;
  for (auto [priority, payload] : {std::pair{1, "a"}, {5, "b"}, {1, "c"}, {5, "d"}, {9, "e"}}) {
    NewRow r = make_row("cloud", priority, payload);
    r.message.received_at_ms = t;
    t += 1000;
    rows.push_back(std::move(r));
  }
  rows.push_back(make_row("other", 3, "z"));
  ASSERT_TRUE(append_sync(*store, std::move(rows)).is_ok());
  ASSERT_TRUE(store->lease("cloud", 1, 1 << 20).is_ok());  // leases "e": still stored, still counted
  auto d = store->depth("cloud");
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ((*d)[0].priority, 9);
  EXPECT_EQ((*d)[0].rows, 1);
  EXPECT_EQ((*d)[0].oldest_received_at_ms, 1'700'000'004'000);
  EXPECT_EQ((*d)[1].priority, 5);
  EXPECT_EQ((*d)[1].rows, 2);
  EXPECT_EQ((*d)[1].oldest_received_at_ms, 1'700'000'001'000);
  EXPECT_EQ((*d)[2].priority, 1);
  EXPECT_EQ((*d)[2].rows, 2);
  EXPECT_EQ((*d)[2].oldest_received_at_ms, 1'700'000'000'000);
  EXPECT_TRUE(store->depth("none")->empty());
}

TEST_F(StoreTest, LeaseLimitsRowsBytesAndAlwaysOneRow) {
  auto store = open();
  std::vector<NewRow> rows;
  for (const char* p : {"aaaa", "bbbb", "cccc", "dddd", "eeee"}) rows.push_back(make_row("c", 0, p));
  rows.push_back(make_row("c", 0, std::string(100, 'x')));
  ASSERT_TRUE(append_sync(*store, std::move(rows)).is_ok());

  auto by_rows = store->lease("c", 2, 1 << 20);
  EXPECT_EQ(payloads_of(*by_rows), (std::vector<std::string>{"aaaa", "bbbb"}));
  auto by_bytes = store->lease("c", 100, 9);  // 4 + 4 fit, a third would be 12
  EXPECT_EQ(payloads_of(*by_bytes), (std::vector<std::string>{"cccc", "dddd"}));
  auto exact = store->lease("c", 100, 4);
  EXPECT_EQ(payloads_of(*exact), (std::vector<std::string>{"eeee"}));
  auto oversized = store->lease("c", 100, 10);  // larger than max_bytes: still one row
  ASSERT_EQ(oversized->size(), 1u);
  EXPECT_EQ((*oversized)[0].message.payload.size(), 100u);
  auto none = store->lease("c", 100, 1 << 20);
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());
  auto zero = store->lease("c", 0, 1 << 20);
  EXPECT_TRUE(zero->empty());
}

TEST_F(StoreTest, LeasedRowsAreNotLeasedTwiceAndReleaseRestoresOrder) {
  auto store = open();
  std::vector<NewRow> rows;
  for (int i = 0; i < 6; ++i) rows.push_back(make_row("c", i % 2, std::to_string(i)));
  ASSERT_TRUE(append_sync(*store, std::move(rows)).is_ok());
  // Order: priority 1 (1, 3, 5) then priority 0 (0, 2, 4).
  auto first = store->lease("c", 2, 1 << 20);
  auto second = store->lease("c", 2, 1 << 20);
  EXPECT_EQ(payloads_of(*first), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(payloads_of(*second), (std::vector<std::string>{"5", "0"}));
  store->release("c", seqs_of(*first));
  auto third = store->lease("c", 10, 1 << 20);
  EXPECT_EQ(payloads_of(*third), (std::vector<std::string>{"1", "3", "2", "4"}));
  store->release("c", seqs_of(*second));
  store->release("c", seqs_of(*third));
  auto all = store->lease("c", 10, 1 << 20);
  EXPECT_EQ(payloads_of(*all), (std::vector<std::string>{"1", "3", "5", "0", "2", "4"}));
}

// Acks delete runs of consecutive seqs in one statement each: a batch whose
// seqs have gaps (rows of another uplink between them) must leave the rows
// in the gaps, and seqs given twice or out of order are deleted once.
TEST_F(StoreTest, AckOfSeqsWithGapsDeletesOnlyThoseRows) {
  auto store = open();
  std::vector<NewRow> rows;
  for (int i = 0; i < 9; ++i) rows.push_back(make_row(i % 3 == 1 ? "other" : "c", 0, std::to_string(i)));
  ASSERT_TRUE(append_sync(*store, std::move(rows)).is_ok());
  const uint64_t bytes_before = store->stats().bytes_stored;
  auto batch = store->lease("c", 10, 1 << 20);
  ASSERT_TRUE(batch.is_ok());
  ASSERT_EQ(payloads_of(*batch), (std::vector<std::string>{"0", "2", "3", "5", "6", "8"}));
  std::vector<int64_t> seqs = seqs_of(*batch);
  std::reverse(seqs.begin(), seqs.end());
  seqs.push_back(seqs.front());
  std::promise<Status> done;
  store->ack("c", seqs, 1, [&done](const Status& s) { done.set_value(s); });
  ASSERT_TRUE(done.get_future().get().is_ok());
  EXPECT_EQ(*store->count("c"), 0);
  EXPECT_EQ(*store->count("other"), 3);
  EXPECT_EQ(store->stats().rows_deleted, 6u);
  EXPECT_EQ(store->stats().rows_stored, 3u);
  EXPECT_EQ(store->stats().bytes_stored, bytes_before / 3);  // equal-sized rows
  auto other = store->lease("other", 10, 1 << 20);
  EXPECT_EQ(payloads_of(*other), (std::vector<std::string>{"1", "4", "7"}));
}

// lease() starts its scans above the rows already in flight (a per-priority
// floor). Rows a scan passed but did not take (cut by max_rows for the
// lower-priority share) and rows released later must still be leased.
TEST_F(StoreTest, RowsPassedOverOrReleasedAreLeasedAgain) {
  auto store = open();
  std::vector<NewRow> rows;
  for (int i = 0; i < 6; ++i) rows.push_back(make_row("c", 5, "p" + std::to_string(i)));
  for (int i = 0; i < 4; ++i) rows.push_back(make_row("c", 1, "l" + std::to_string(i)));
  ASSERT_TRUE(append_sync(*store, std::move(rows)).is_ok());
  auto first = store->lease("c", 3, 1 << 20);
  EXPECT_EQ(payloads_of(*first), (std::vector<std::string>{"p0", "p1", "p2"}));
  // The share is owed one row now: p5 is scanned, then cut for l0.
  auto second = store->lease("c", 3, 1 << 20);
  EXPECT_EQ(payloads_of(*second), (std::vector<std::string>{"p3", "p4", "l0"}));
  auto third = store->lease("c", 10, 1 << 20);
  EXPECT_EQ(payloads_of(*third), (std::vector<std::string>{"p5", "l1", "l2", "l3"}));
  store->release("c", seqs_of(*first));
  auto again = store->lease("c", 10, 1 << 20);
  EXPECT_EQ(payloads_of(*again), (std::vector<std::string>{"p0", "p1", "p2"}));
  auto none = store->lease("c", 10, 1 << 20);
  EXPECT_TRUE(none->empty());
}

TEST_F(StoreTest, AckDeletesRowsAndPersistsLastBatchSeq) {
  std::vector<int64_t> acked;
  int64_t max_seq = 0;
  {
    auto store = open();
    std::vector<NewRow> rows;
    for (int i = 0; i < 4; ++i) rows.push_back(make_row("c", 0, std::to_string(i)));
    ASSERT_TRUE(append_sync(*store, std::move(rows)).is_ok());
    EXPECT_EQ(store->last_batch_seq("c"), 0u);
    auto batch = store->lease("c", 2, 1 << 20);
    acked = seqs_of(*batch);
    std::promise<Status> done;
    store->ack("c", acked, 41, [&done](const Status& s) { done.set_value(s); });
    EXPECT_TRUE(done.get_future().get().is_ok());
    EXPECT_EQ(store->last_batch_seq("c"), 41u);
    EXPECT_EQ(*store->count("c"), 2);
    // An older batch acknowledged late never moves the sequence back.
    auto rest = store->lease("c", 1, 1 << 20);
    store->ack("c", seqs_of(*rest), 40);
    store->flush();
    EXPECT_EQ(store->last_batch_seq("c"), 41u);
    EXPECT_EQ(*store->count("c"), 1);
    max_seq = (*rest)[0].seq;
    EXPECT_EQ(store->stats().rows_deleted, 3u);
  }
  auto store = open();
  EXPECT_EQ(store->last_batch_seq("c"), 41u);
  EXPECT_EQ(store->last_batch_seq("unknown"), 0u);
  auto left = store->lease("c", 10, 1 << 20);
  EXPECT_EQ(payloads_of(*left), (std::vector<std::string>{"3"}));
  // Sequence numbers are never reused, even after the newest rows were deleted.
  store->ack("c", seqs_of(*left), 42);
  store->flush();
  ASSERT_TRUE(append_sync(*store, one(make_row("c", 0, "new"))).is_ok());
  auto fresh = store->lease("c", 10, 1 << 20);
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_GT((*fresh)[0].seq, (*left)[0].seq);
  EXPECT_GT((*fresh)[0].seq, max_seq);
}

TEST_F(StoreTest, LeasesAreInMemorySoEveryRowIsLeasableAfterReopen) {
  {
    auto store = open();
    ASSERT_TRUE(append_sync(*store, {make_row("c", 0, "a"), make_row("c", 0, "b")}).is_ok());
    auto leased = store->lease("c", 10, 1 << 20);
    EXPECT_EQ(leased->size(), 2u);
  }
  auto store = open();
  auto again = store->lease("c", 10, 1 << 20);
  EXPECT_EQ(payloads_of(*again), (std::vector<std::string>{"a", "b"}));
}

TEST_F(StoreTest, ManyConcurrentAppendsAreGroupedIntoFewCommits) {
  auto o = options();
  o.durability = Durability::kFsync;
  o.group_window = 20ms;
  auto store = open(o);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Status s = store->append(one(make_row("c", 0, std::to_string(t * kPerThread + i))),
                                 [&ok](const Status& st) {
                                   if (st.is_ok()) ok.fetch_add(1);
                                 });
        EXPECT_TRUE(s.is_ok()) << s.to_string();
      }
    });
  }
  for (auto& th : threads) th.join();
  store->flush();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  StoreStats st = store->stats();
  EXPECT_EQ(st.appends, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(st.rows_appended, uint64_t{kThreads * kPerThread});
  EXPECT_LE(st.commits * 10, st.appends) << "commits: " << st.commits;
  EXPECT_LE(st.max_group_appends, o.group_max_messages);
  EXPECT_GT(st.max_group_appends, 10u);
  EXPECT_EQ(*store->count("c"), kThreads * kPerThread);
}

TEST_F(StoreTest, GroupClosesAtMaxMessagesWithoutWaitingForTheWindow) {
  auto o = options();
  o.group_max_messages = 5;
  o.group_window = std::chrono::hours(1);
  auto store = open(o);
  std::vector<std::future<Status>> done;
  std::vector<std::promise<Status>> promises(5);
  for (auto& p : promises) {
    done.push_back(p.get_future());
    ASSERT_TRUE(
        store->append(one(make_row("c", 0, "x")), [&p](const Status& s) { p.set_value(s); })
            .is_ok());
  }
  for (auto& f : done) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);  // far less than the hour
    EXPECT_TRUE(f.get().is_ok());
  }
  EXPECT_EQ(store->stats().commits, 1u);
  EXPECT_EQ(store->stats().last_group_appends, 5u);
}

TEST_F(StoreTest, GroupClosesAfterTheWindow) {
  auto o = options();
  o.group_max_messages = 1000;
  o.group_window = 5ms;
  auto store = open(o);
  std::promise<Status> p;
  auto f = p.get_future();
  ASSERT_TRUE(
      store->append(one(make_row("c", 0, "x")), [&p](const Status& s) { p.set_value(s); }).is_ok());
  ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(f.get().is_ok());
}

TEST_F(StoreTest, EmptyAppendCompletesOkWithNextCommit) {
  auto store = open();
  EXPECT_TRUE(append_sync(*store, {}).is_ok());
  EXPECT_EQ(*store->count("c"), 0);
}

TEST_F(StoreTest, BackpressureAtMaxPendingThenAcceptsAgain) {
  auto o = options();
  o.max_pending = 3;
  o.group_window = std::chrono::hours(1);  // the writer holds the group open
  auto store = open(o);
  std::atomic<int> completed{0};
  auto count_done = [&completed](const Status& s) {
    EXPECT_TRUE(s.is_ok());
    completed.fetch_add(1);
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store->append(one(make_row("c", 0, "x")), count_done).is_ok());
  }
  bool called = false;
  Status full = store->append(one(make_row("c", 0, "y")), [&called](const Status&) { called = true; });
  EXPECT_EQ(full.code(), StatusCode::kUnavailable) << full.to_string();
  EXPECT_EQ(store->stats().rejected_appends, 1u);
  store->flush();  // closes the group
  EXPECT_EQ(completed.load(), 3);
  EXPECT_FALSE(called);
  ASSERT_TRUE(store->append(one(make_row("c", 0, "z")), count_done).is_ok());
  store->flush();
  EXPECT_EQ(completed.load(), 4);
  EXPECT_EQ(*store->count("c"), 4);
}

TEST_F(StoreTest, DestructorCommitsEverythingQueued) {
  std::atomic<int> ok{0};
  {
    auto o = options();
    o.group_window = std::chrono::hours(1);
    auto store = open(o);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(store
                      ->append(one(make_row("c", 0, std::to_string(i))),
                               [&ok](const Status& s) {
                                 if (s.is_ok()) ok.fetch_add(1);
                               })
                      .is_ok());
    }
  }
  EXPECT_EQ(ok.load(), 10);
  auto store = open();
  EXPECT_EQ(*store->count("c"), 10);
}

TEST_F(StoreTest, WaitForRowsWakesAfterACommit) {
  auto store = open();
  auto empty = store->lease("c", 10, 1 << 20);
  ASSERT_TRUE(empty->empty());
  std::promise<void> woke;
  auto f = woke.get_future();
  std::thread waiter([&] {
    store->wait_for_rows("c", std::chrono::hours(1));
    woke.set_value();
  });
  ASSERT_TRUE(append_sync(*store, one(make_row("c", 0, "x"))).is_ok());
  EXPECT_EQ(f.wait_for(30s), std::future_status::ready);
  waiter.join();
  auto leased = store->lease("c", 10, 1 << 20);
  EXPECT_EQ(leased->size(), 1u);
  // Nothing new since that lease: the wait times out.
  store->wait_for_rows("c", 1ms);
}

TEST_F(StoreTest, InvalidRowsAreRefused) {
  auto store = open();
  EXPECT_EQ(store->append(one(make_row("c", 10, "x")), {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->append(one(make_row("", 0, "x")), {}).code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, UnopenablePathGivesAClearError) {
  gw::testing::write_file(dir_ / "afile", "not a folder");
  StoreOptions o;
  o.path = (dir_ / "afile" / "queue.db").string();
  auto s = Store::open(o, clock_);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("afile"), std::string::npos) << s.status().to_string();

  o.path = dir_.path().string();  // a directory
  auto d = Store::open(o, clock_);
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnavailable) << d.status().to_string();

  o.path = "";
  EXPECT_FALSE(Store::open(o, clock_).is_ok());
}

TEST_F(StoreTest, DamagedFileIsDataLossWhenNotMovedAside) {
  std::filesystem::create_directories(dir_ / "var");
  gw::testing::write_file(dir_ / "var" / "queue.db", std::string(8192, 'G'));
  auto o = options();
  o.move_damaged_aside = false;
  auto s = Store::open(o, clock_);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss) << s.status().to_string();
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  { auto store = open(); }
  {
    RawDb raw(options().path);
    raw.exec("PRAGMA user_version = 99");
  }
  auto s = Store::open(options(), clock_);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("newer"), std::string::npos) << s.status().to_string();
}

// A real SQLite failure inside the writer's transaction: another connection
// installs a trigger that aborts every insert (as a constraint or I/O error
// would). The store must not report OK and must stay in error.
TEST_F(StoreTest, FailedTransactionIsStickyAndNeverReportsOk) {
  auto store = open();
  ASSERT_TRUE(append_sync(*store, one(make_row("c", 0, "before"))).is_ok());
  {
    RawDb raw(options().path);
    raw.exec(
        "CREATE TRIGGER fail_inserts BEFORE INSERT ON messages "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  }
  Status failed = append_sync(*store, one(make_row("c", 0, "lost")));
  EXPECT_FALSE(failed.is_ok());
  EXPECT_NE(failed.message().find("injected failure"), std::string::npos) << failed.to_string();
  EXPECT_FALSE(store->health().is_ok());
  EXPECT_EQ(store->stats().failed_commits, 1u);

  // Later appends are refused with the same error, without calling `done`.
  bool called = false;
  Status later = store->append(one(make_row("c", 0, "later")), [&called](const Status&) {
    called = true;
  });
  EXPECT_FALSE(later.is_ok());
  EXPECT_FALSE(called);
  // Acks complete with the error too; flush still returns.
  std::promise<Status> ack_done;
  store->ack("c", {1}, 1, [&ack_done](const Status& s) { ack_done.set_value(s); });
  EXPECT_FALSE(ack_done.get_future().get().is_ok());
  store->flush();
  // What was stored is still served.
  auto leased = store->lease("c", 10, 1 << 20);
  ASSERT_TRUE(leased.is_ok());
  EXPECT_EQ(payloads_of(*leased), (std::vector<std::string>{"before"}));
  EXPECT_EQ(*store->count("c"), 1);
}

// Producers append while a consumer keeps two batches in flight, fails one
// of them now and then, and acks without waiting for the commit: in-flight
// batches never overlap, an acked row never comes back, nothing is left.
TEST_F(StoreTest, ConcurrentAppendLeaseAckDeliversEachRowOnce) {
  auto o = options();
  o.group_window = 1ms;
  auto store = open(o);
  constexpr int kProducers = 2;
  constexpr int kPerProducer = 3000;
  constexpr size_t kTotal = kProducers * kPerProducer;
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerProducer;) {
        Status s =
            store->append(one(make_row("c", i % 3, std::to_string(t * kPerProducer + i))), {});
        if (s.is_ok()) {
          ++i;
        } else {
          EXPECT_EQ(s.code(), StatusCode::kUnavailable);
          store->flush();
        }
      }
    });
  }
  std::set<std::string> acked;
  int acked_twice = 0;
  int overlapping = 0;
  uint64_t batch = 0;
  auto ack = [&](const std::vector<StoredRow>& rows) {
    for (const auto& r : rows) {
      if (!acked.insert(r.message.payload).second) ++acked_twice;
    }
    store->ack("c", seqs_of(rows), ++batch);
  };
  while (acked.size() < kTotal && acked_twice == 0) {
    auto a = store->lease("c", 50, 1 << 20);
    ASSERT_TRUE(a.is_ok());
    if (a->empty()) {
      store->wait_for_rows("c", 100ms);
      continue;
    }
    // Leased only after `a` had rows: rows appended between two leases
    // would otherwise sit in a `b` that nobody acks or releases.
    auto b = store->lease("c", 50, 1 << 20);
    ASSERT_TRUE(b.is_ok());
    std::set<int64_t> in_a;
    for (const auto& r : *a) in_a.insert(r.seq);
    for (const auto& r : *b) overlapping += static_cast<int>(in_a.count(r.seq));
    if (batch % 3 == 0) {
      store->release("c", seqs_of(*a));  // a failed batch: retried later
    } else {
      ack(*a);
    }
    ack(*b);
  }
  for (auto& th : producers) th.join();
  store->flush();
  EXPECT_EQ(overlapping, 0);
  EXPECT_EQ(acked_twice, 0);
  EXPECT_EQ(acked.size(), kTotal);
  EXPECT_EQ(*store->count("c"), 0);
}

// ---- Broker state (issue 3) ---------------------------------------------------

// The QoS 2 marker lands in the same transaction as the message's rows: once
// the completion says OK both are visible to another connection, and both
// survive a reopen.
TEST_F(StoreTest, Qos2MarkerIsCommittedWithTheRowsAndSurvivesReopen) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    std::promise<std::pair<int64_t, int64_t>> seen;
    auto f = seen.get_future();
    AppendExtras extras;
    extras.qos2_received = Qos2Marker{"dev-1", 42};
    const std::string path = options().path;
    ASSERT_TRUE(store
                    ->append(one(make_row("c", 0, "x")),
                             [&seen, path](const Status& st) {
                               EXPECT_TRUE(st.is_ok());
                               RawDb raw(path);
                               seen.set_value({raw.int_query("SELECT count(*) FROM messages"),
                                               raw.int_query("SELECT count(*) FROM qos2_received "
                                                             "WHERE client_id = 'dev-1' AND packet_id = 42")});
                             },
                             std::move(extras))
                    .is_ok());
    EXPECT_EQ(f.get(), std::make_pair(int64_t{1}, int64_t{1}));
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto markers = store->qos2_received();
  ASSERT_TRUE(markers.is_ok()) << markers.status().to_string();
  ASSERT_EQ(markers->size(), 1u);
  EXPECT_EQ(markers->at("dev-1"), std::vector<uint16_t>{42});
}

// A message no route wants still needs its marker: an append with no rows
// writes only the marker, even when the queue is full (it stores no message).
TEST_F(StoreTest, MarkerOnlyAppendIsWrittenEvenWhenTheQueueIsFull) {
  auto o = options();
  o.max_bytes = 200;
  o.on_full = FullPolicy::kReject;
  auto store = open(o);
  ASSERT_TRUE(store);
  ASSERT_TRUE(append_sync(*store, one(make_row("c", 0, std::string(100, 'x')))).is_ok());
  // Full now: a message is refused, and its marker is not written.
  AppendExtras refused;
  refused.qos2_received = Qos2Marker{"dev-1", 1};
  EXPECT_EQ(store->append(one(make_row("c", 0, std::string(100, 'y'))), [](const Status&) {}, refused).code(),
            StatusCode::kResourceExhausted);
  std::promise<Status> p;
  AppendExtras only;
  only.qos2_received = Qos2Marker{"dev-1", 2};
  ASSERT_TRUE(store->append({}, [&p](const Status& st) { p.set_value(st); }, only).is_ok());
  EXPECT_TRUE(p.get_future().get().is_ok());
  RawDb raw(o.path);
  EXPECT_EQ(raw.int_query("SELECT count(*) FROM messages"), 1);
  EXPECT_EQ(raw.int_query("SELECT group_concat(packet_id) FROM qos2_received"), 2);
}

TEST_F(StoreTest, ReleaseDeletesOneMarkerAndDropDeletesAClientsMarkers) {
  auto store = open();
  ASSERT_TRUE(store);
  for (auto [cid, id] : {std::pair{"a", 1}, {"a", 2}, {"a", 3}, {"b", 1}}) {
    AppendExtras e;
    e.qos2_received = Qos2Marker{cid, static_cast<uint16_t>(id)};
    ASSERT_TRUE(store->append({}, [](const Status&) {}, e).is_ok());
  }
  std::promise<Status> released;
  store->release_qos2("a", 2, [&released](const Status& st) { released.set_value(st); });
  EXPECT_TRUE(released.get_future().get().is_ok());
  auto markers = store->qos2_received();
  ASSERT_TRUE(markers.is_ok());
  EXPECT_EQ(markers->at("a"), (std::vector<uint16_t>{1, 3}));
  EXPECT_EQ(markers->at("b"), (std::vector<uint16_t>{1}));
  store->drop_qos2("a");
  store->flush();
  markers = store->qos2_received();
  ASSERT_TRUE(markers.is_ok());
  EXPECT_EQ(markers->count("a"), 0u);
  EXPECT_EQ(markers->count("b"), 1u);
}

// A version 2 file (before issue 3) is migrated in place, rows kept.
TEST_F(StoreTest, Version2FileIsMigratedKeepingItsRows) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(append_sync(*store, one(make_row("c", 0, "old"))).is_ok());
  }
  {
    RawDb raw(options().path);
    raw.exec(
        "DROP TABLE qos2_received; DROP TABLE retained; "
        "CREATE INDEX messages_by_priority ON messages (priority, seq); PRAGMA user_version = 2");
  }
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->count("c"), 1);
  RawDb raw(options().path);
  EXPECT_EQ(raw.int_query("SELECT count(*) FROM qos2_received"), 0);
  EXPECT_EQ(raw.int_query("SELECT count(*) FROM retained"), 0);
  // Version 5 dropped the eviction index.
  EXPECT_EQ(raw.int_query("SELECT count(*) FROM sqlite_master WHERE name = 'messages_by_priority'"), 0);
}

// Retained messages: set with a message's rows (same transaction) or alone,
// replaced per topic, cleared by an empty payload, read back after a reopen
// with every field.
TEST_F(StoreTest, RetainedMessagesAreSetReplacedClearedAndSurviveReopen) {
  Message a;
  a.topic = "plant/1/state";
  a.payload = "on";
  a.qos = 1;
  a.retain = true;
  a.properties.user = {{"k", "v"}};
  a.properties.content_type = "text/plain";
  a.client_id = "dev-1";
  a.username = "line-1";
  a.protocol_version = 5;
  a.received_at_ms = 1'700'000'000'123;
  {
    auto store = open();
    ASSERT_TRUE(store);
    AppendExtras with_rows;
    with_rows.retained = a;
    std::promise<Status> p;
    ASSERT_TRUE(store->append(one(make_row("c", 0, "on")), [&p](const Status& st) { p.set_value(st); }, with_rows)
                    .is_ok());
    ASSERT_TRUE(p.get_future().get().is_ok());
    Message b = a;
    b.topic = "plant/2/state";
    b.payload = "off";
    b.properties = {};
    store->put_retained(b);
    Message gone = b;
    gone.topic = "plant/3/state";
    store->put_retained(gone);
    gone.payload.clear();  // and cleared again
    store->put_retained(gone);
    Message replaced = b;
    replaced.payload = "half";
    AppendExtras only;
    only.retained = replaced;
    ASSERT_TRUE(store->append({}, [](const Status&) {}, only).is_ok());
    store->flush();
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto retained = store->retained_messages();
  ASSERT_TRUE(retained.is_ok()) << retained.status().to_string();
  ASSERT_EQ(retained->size(), 2u);
  EXPECT_EQ((*retained)[0], a);
  EXPECT_EQ((*retained)[1].topic, "plant/2/state");
  EXPECT_EQ((*retained)[1].payload, "half");
  EXPECT_TRUE((*retained)[1].properties.empty());
  Message clear;
  clear.topic = "plant/1/state";
  store->put_retained(clear);
  store->flush();
  retained = store->retained_messages();
  ASSERT_TRUE(retained.is_ok());
  ASSERT_EQ(retained->size(), 1u);
  EXPECT_EQ((*retained)[0].topic, "plant/2/state");
}

}  // namespace
}  // namespace gw::store
