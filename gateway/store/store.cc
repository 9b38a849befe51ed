// Store implementation. Three pieces of state, each with one guard:
//
//  - the hand-off queue (mu_): ops waiting for the writer, the sticky error
//    and the stop flag. append()/ack()/flush() push, the writer pops groups.
//  - the writer connection and its statements: writer thread only (and the
//    opening thread before the writer starts).
//  - the read connection and its statements (read_mu_), used by lease() and
//    count(); WAL lets it read while the writer writes.
//  - per-uplink lease state (state_mu_): leased seqs, recently deleted seqs,
//    generations for wait_for_rows(), last_batch_seq. Lock order: read_mu_
//    before state_mu_; mu_ is never held with either.
//
// Group commit (after leveldb's BuildBatchGroup, written for SQLite): the
// writer waits for the first op, then until group_max_messages appends are
// queued or group_window has passed since the oldest queued op (a flush or
// stop closes the group at once), takes them all and runs one transaction.
// While it commits, new appends pile up and form the next group, so under
// load groups grow by themselves and the window costs nothing.
#include "gateway/store/store.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <utility>

#include "gateway/store/internal/schema.h"
#include "gateway/store/internal/sqlite.h"

namespace gw::store {

using internal::Db;
using internal::ResetOnExit;
using internal::sqlite_status;
using internal::Stmt;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

constexpr const char* kInsertSql =
    "INSERT INTO messages (uplink, route, priority, expires_at_ms, cloud_topic, topic, payload, "
    "qos, retain, props, client_id, username, protocol_version, received_at_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
constexpr const char* kDeleteSql = "DELETE FROM messages WHERE seq = ?1";
constexpr const char* kUpsertBatchSql =
    "INSERT INTO uplink_state (uplink, last_batch_seq) VALUES (?1, ?2) "
    "ON CONFLICT (uplink) DO UPDATE SET "
    "last_batch_seq = max(last_batch_seq, excluded.last_batch_seq)";
// Covering scan of messages_by_uplink: seq only, so skipping leased rows
// never reads their payloads.
constexpr const char* kScanSql =
    "SELECT seq FROM messages WHERE uplink = ?1 ORDER BY priority DESC, seq";
constexpr const char* kFetchSql =
    "SELECT uplink, route, priority, expires_at_ms, cloud_topic, topic, payload, qos, retain, "
    "props, client_id, username, protocol_version, received_at_ms FROM messages WHERE seq = ?1";
constexpr const char* kCountSql = "SELECT count(*) FROM messages WHERE uplink = ?1";

struct Op {
  enum class Kind : uint8_t { kAppend, kAck, kFlush };
  Kind kind = Kind::kAppend;
  std::vector<NewRow> rows;    // kAppend
  std::string uplink;          // kAck
  std::vector<int64_t> seqs;   // kAck
  uint64_t batch_seq = 0;      // kAck
  Store::Completion done;      // may be empty for kAck
  SteadyTime enqueued;
};

struct UplinkState {
  std::unordered_set<int64_t> leased;
  // Rows deleted by a committed ack, with the commit number that deleted
  // them: a lease whose read snapshot is older than that commit may still
  // see them, so they stay skipped until a lease starts after the commit.
  std::unordered_set<int64_t> deleted;
  std::deque<std::pair<uint64_t, std::vector<int64_t>>> deleted_by_commit;
  uint64_t generation = 1;  // bumped when rows may have become leasable
  uint64_t seen_generation = 0;  // generation when the last lease() started
  uint64_t last_batch_seq = 0;
};

void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace

class Store::Impl {
 public:
  Impl(const StoreOptions& options, const Clock& clock) : options_(options), clock_(clock) {
    if (options_.group_max_messages == 0) options_.group_max_messages = 1;
  }
  ~Impl() { shutdown(); }

  Status open();
  void start() {
    writer_ = std::thread([this] { run_writer(); });
  }
  void shutdown();

  Status append(std::vector<NewRow> rows, Completion done);
  void ack(std::string_view uplink, std::vector<int64_t> seqs, uint64_t batch_seq,
           Completion done);
  void flush();
  Status health() const {
    std::lock_guard lk(mu_);
    return error_;
  }

  Result<std::vector<StoredRow>> lease(std::string_view uplink, size_t max_rows,
                                       size_t max_bytes);
  void release(std::string_view uplink, const std::vector<int64_t>& seqs);
  void wait_for_rows(std::string_view uplink, std::chrono::milliseconds timeout);
  uint64_t last_batch_seq(std::string_view uplink) {
    std::lock_guard lk(state_mu_);
    return state_for(uplink).last_batch_seq;
  }
  Result<int64_t> count(std::string_view uplink);
  StoreStats stats() const;

 private:
  void enqueue(Op op);  // an ack or a flush
  void run_writer();
  Status commit_group(std::vector<Op>& group, std::vector<std::string_view>& touched);
  Status fail(Status s);
  UplinkState& state_for(std::string_view uplink);  // Requires: state_mu_

  StoreOptions options_;
  const Clock& clock_;  // TODO(issue 4): TTL sweeps and oldest-age stats run on it.

  // Hand-off queue (mu_).
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Op> queue_;
  size_t queued_appends_ = 0;
  size_t queued_flushes_ = 0;
  bool stop_ = false;
  Status error_;                    // sticky; guarded by mu_
  std::atomic<bool> failed_{false}; // mirrors !error_.is_ok() for lock-free checks

  // Writer thread only. Statements are declared after their Db so they are
  // finalized first.
  Db wdb_;
  Stmt begin_, commit_, rollback_, insert_, delete_, upsert_batch_;
  std::thread writer_;
  uint64_t commit_number_ = 0;

  // Read connection (read_mu_).
  std::mutex read_mu_;
  Db rdb_;
  Stmt scan_, fetch_, count_;

  // Lease state (state_mu_).
  std::mutex state_mu_;
  std::condition_variable rows_cv_;
  std::map<std::string, UplinkState, std::less<>> uplinks_;
  uint64_t committed_number_ = 0;  // last commit whose effects are visible to new readers
  bool readers_stop_ = false;

  // Stats (relaxed atomics; the writer is the only writer of most).
  std::atomic<uint64_t> commits_{0}, failed_commits_{0}, appends_{0}, rows_appended_{0},
      rows_deleted_{0}, rejected_{0}, last_group_{0}, max_group_{0}, commit_ns_{0};
};

Status Store::Impl::open() {
  namespace fs = std::filesystem;
  if (options_.path.empty()) return invalid_argument("store: path is empty");
  fs::path parent = fs::path(options_.path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) {
      return unavailable("store: cannot create folder " + parent.string() + ": " + ec.message());
    }
  }
  auto db = Db::open(options_.path, /*create=*/true);
  if (!db.is_ok()) return db.status().with_context("store");
  wdb_ = std::move(db.value());

  // journal_mode is the first statement to read the file, so a file that is
  // not a database fails here with kDataLoss.
  auto mode = wdb_.query_text("PRAGMA journal_mode = WAL");
  if (!mode.is_ok()) return mode.status().with_context("store: " + options_.path);
  if (*mode != "wal") {
    return unavailable("store: " + options_.path + ": cannot use WAL mode (got " + *mode + ")");
  }
  GW_RETURN_IF_ERROR(wdb_.exec(options_.durability == Durability::kFsync
                                   ? "PRAGMA synchronous = FULL"
                                   : "PRAGMA synchronous = NORMAL"));
  // Keep the WAL from staying large after a burst (flash wear, disk use).
  GW_RETURN_IF_ERROR(wdb_.exec("PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY"));
  if (options_.quick_check) {
    auto check = wdb_.query_text("PRAGMA quick_check");
    if (!check.is_ok()) return check.status().with_context("store: " + options_.path);
    if (*check != "ok") {
      return data_loss("store: " + options_.path + " is damaged (quick_check: " + *check + ")");
    }
  }
  Status migrated = internal::migrate(wdb_);
  if (!migrated.is_ok()) return migrated.with_context("store: " + options_.path);

  for (auto [stmt, sql] : {std::pair{&begin_, "BEGIN IMMEDIATE"}, {&commit_, "COMMIT"},
                           {&rollback_, "ROLLBACK"}, {&insert_, kInsertSql},
                           {&delete_, kDeleteSql}, {&upsert_batch_, kUpsertBatchSql}}) {
    auto s = Stmt::prepare(wdb_, sql);
    if (!s.is_ok()) return s.status().with_context("store");
    *stmt = std::move(s.value());
  }

  auto rdb = Db::open(options_.path, /*create=*/false);
  if (!rdb.is_ok()) return rdb.status().with_context("store: read connection");
  rdb_ = std::move(rdb.value());
  GW_RETURN_IF_ERROR(rdb_.exec("PRAGMA query_only = 1"));
  for (auto [stmt, sql] :
       {std::pair{&scan_, kScanSql}, {&fetch_, kFetchSql}, {&count_, kCountSql}}) {
    auto s = Stmt::prepare(rdb_, sql);
    if (!s.is_ok()) return s.status().with_context("store");
    *stmt = std::move(s.value());
  }

  auto states = Stmt::prepare(rdb_, "SELECT uplink, last_batch_seq FROM uplink_state");
  if (!states.is_ok()) return states.status().with_context("store");
  int rc;
  while ((rc = states->step()) == SQLITE_ROW) {
    uplinks_[std::string(states->column_text(0))].last_batch_seq =
        static_cast<uint64_t>(states->column_int(1));
  }
  if (rc != SQLITE_DONE) return sqlite_status(rc, rdb_.get(), "store: read uplink_state");
  return Status::ok();
}

void Store::Impl::shutdown() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lk(state_mu_);
    readers_stop_ = true;
  }
  rows_cv_.notify_all();
}

void Store::Impl::enqueue(Op op) {
  op.enqueued = std::chrono::steady_clock::now();
  bool wake;
  {
    std::lock_guard lk(mu_);
    // An ack waits in the group like an append; a flush closes it at once.
    wake = queue_.empty();
    if (op.kind == Op::Kind::kFlush) {
      ++queued_flushes_;
      wake = true;
    }
    queue_.push_back(std::move(op));
  }
  if (wake) work_cv_.notify_one();
}

Status Store::Impl::append(std::vector<NewRow> rows, Completion done) {
  for (const NewRow& row : rows) {
    if (row.uplink.empty()) return invalid_argument("store: row without an uplink");
    if (row.priority < 0 || row.priority > 9) {
      return invalid_argument("store: priority " + std::to_string(row.priority) +
                              " is outside 0..9");
    }
  }
  Op op;
  op.kind = Op::Kind::kAppend;
  op.rows = std::move(rows);
  op.done = std::move(done);
  op.enqueued = std::chrono::steady_clock::now();
  {
    std::lock_guard lk(mu_);
    if (!error_.is_ok()) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return error_;
    }
    if (queued_appends_ >= options_.max_pending) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return unavailable("store: " + std::to_string(queued_appends_) +
                         " appends are waiting for the writer");
    }
    // Wake the writer only when it may be waiting for exactly this: the
    // first op, or a full group. Otherwise its window timer wakes it.
    const bool was_empty = queue_.empty();
    ++queued_appends_;
    const bool wake = was_empty || queued_appends_ == options_.group_max_messages;
    queue_.push_back(std::move(op));
    if (!wake) return Status::ok();
  }
  work_cv_.notify_one();
  return Status::ok();
}

void Store::Impl::ack(std::string_view uplink, std::vector<int64_t> seqs, uint64_t batch_seq,
                      Completion done) {
  Op op;
  op.kind = Op::Kind::kAck;
  op.uplink = std::string(uplink);
  op.seqs = std::move(seqs);
  op.batch_seq = batch_seq;
  op.done = std::move(done);
  enqueue(std::move(op));
}

void Store::Impl::flush() {
  std::promise<void> committed;
  std::future<void> f = committed.get_future();
  Op op;
  op.kind = Op::Kind::kFlush;
  op.done = [&committed](const Status&) { committed.set_value(); };
  enqueue(std::move(op));
  f.wait();
}

void Store::Impl::run_writer() {
  name_this_thread("gw-store-writer");
  std::vector<Op> group;
  std::vector<std::string_view> touched;  // uplinks that got rows in this group
  for (;;) {
    size_t appends = 0;
    {
      std::unique_lock lk(mu_);
      work_cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and everything committed
      const SteadyTime deadline = queue_.front().enqueued + options_.group_window;
      while (!stop_ && queued_flushes_ == 0 &&
             queued_appends_ < options_.group_max_messages &&
             std::chrono::steady_clock::now() < deadline) {
        work_cv_.wait_until(lk, deadline);
      }
      while (!queue_.empty() && appends < options_.group_max_messages) {
        Op& op = queue_.front();
        if (op.kind == Op::Kind::kAppend) {
          ++appends;
        } else if (op.kind == Op::Kind::kFlush) {
          --queued_flushes_;
        }
        group.push_back(std::move(op));
        queue_.pop_front();
      }
      queued_appends_ -= appends;
    }

    touched.clear();
    const Status status = commit_group(group, touched);
    if (status.is_ok()) {
      std::lock_guard lk(state_mu_);
      committed_number_ = commit_number_;
      for (std::string_view uplink : touched) ++state_for(uplink).generation;
      for (const Op& op : group) {
        if (op.kind != Op::Kind::kAck) continue;
        UplinkState& st = state_for(op.uplink);
        for (int64_t seq : op.seqs) {
          st.leased.erase(seq);
          st.deleted.insert(seq);
        }
        st.deleted_by_commit.emplace_back(commit_number_, op.seqs);
        st.last_batch_seq = std::max(st.last_batch_seq, op.batch_seq);
      }
    }
    if (status.is_ok() && !touched.empty()) rows_cv_.notify_all();
    for (Op& op : group) {
      if (op.done) op.done(status);
    }
    group.clear();
  }
}

Status Store::Impl::fail(Status s) {
  failed_commits_.fetch_add(1, std::memory_order_relaxed);
  // SQLite may have rolled back by itself (e.g. some I/O errors), or BEGIN failed.
  if (sqlite3_get_autocommit(wdb_.get()) == 0) {
    (void)rollback_.step();
    rollback_.reset();
  }
  s = s.with_context("store: commit failed; no further messages are acknowledged until the "
                     "store is reopened");
  spdlog::error("{}", s.to_string());
  std::lock_guard lk(mu_);
  error_ = s;
  failed_.store(true, std::memory_order_relaxed);
  return s;
}

Status Store::Impl::commit_group(std::vector<Op>& group,
                                 std::vector<std::string_view>& touched) {
  if (failed_.load(std::memory_order_relaxed)) return health();
  const SteadyTime t0 = std::chrono::steady_clock::now();
  uint64_t appends = 0, rows = 0, deleted = 0;

  int rc = begin_.step();
  begin_.reset();
  if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "BEGIN"));

  std::string props;
  for (const Op& op : group) {
    if (op.kind == Op::Kind::kAppend) {
      ++appends;
      for (const NewRow& row : op.rows) {
        const Message& m = row.message;
        insert_.bind_text(1, row.uplink);
        insert_.bind_text(2, row.route);
        insert_.bind_int(3, row.priority);
        insert_.bind_int(4, row.expires_at_ms);
        insert_.bind_text(5, row.cloud_topic);
        insert_.bind_text(6, m.topic);
        insert_.bind_blob(7, m.payload);
        insert_.bind_int(8, m.qos);
        insert_.bind_int(9, m.retain ? 1 : 0);
        if (m.properties.empty()) {
          insert_.bind_null(10);
        } else {
          props = m.properties.encode();
          insert_.bind_blob(10, props);
        }
        insert_.bind_text(11, m.client_id);
        insert_.bind_text(12, m.username);
        insert_.bind_int(13, m.protocol_version);
        insert_.bind_int(14, m.received_at_ms);
        rc = insert_.step();
        insert_.reset();
        if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "insert"));
        ++rows;
        if (std::find(touched.begin(), touched.end(), row.uplink) == touched.end()) {
          touched.push_back(row.uplink);
        }
      }
    } else if (op.kind == Op::Kind::kAck) {
      for (int64_t seq : op.seqs) {
        delete_.bind_int(1, seq);
        rc = delete_.step();
        delete_.reset();
        if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "delete"));
        deleted += static_cast<uint64_t>(sqlite3_changes(wdb_.get()));
      }
      upsert_batch_.bind_text(1, op.uplink);
      upsert_batch_.bind_int(2, static_cast<int64_t>(op.batch_seq));
      rc = upsert_batch_.step();
      upsert_batch_.reset();
      if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "update uplink_state"));
    }
  }

  rc = commit_.step();
  commit_.reset();
  if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "COMMIT"));
  ++commit_number_;

  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  commits_.fetch_add(1, std::memory_order_relaxed);
  appends_.fetch_add(appends, std::memory_order_relaxed);
  rows_appended_.fetch_add(rows, std::memory_order_relaxed);
  rows_deleted_.fetch_add(deleted, std::memory_order_relaxed);
  last_group_.store(appends, std::memory_order_relaxed);
  if (appends > max_group_.load(std::memory_order_relaxed)) {
    max_group_.store(appends, std::memory_order_relaxed);
  }
  commit_ns_.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
  return Status::ok();
}

UplinkState& Store::Impl::state_for(std::string_view uplink) {
  auto it = uplinks_.find(uplink);
  if (it == uplinks_.end()) it = uplinks_.emplace(std::string(uplink), UplinkState{}).first;
  return it->second;
}

Result<std::vector<StoredRow>> Store::Impl::lease(std::string_view uplink, size_t max_rows,
                                                  size_t max_bytes) {
  std::vector<StoredRow> out;
  if (max_rows == 0) return out;
  std::lock_guard rl(read_mu_);
  UplinkState* st;
  {
    std::lock_guard lk(state_mu_);
    st = &state_for(uplink);
    st->seen_generation = st->generation;
    // Our read snapshot starts below, after every commit up to
    // committed_number_: rows those commits deleted are invisible to it.
    while (!st->deleted_by_commit.empty() &&
           st->deleted_by_commit.front().first <= committed_number_) {
      for (int64_t seq : st->deleted_by_commit.front().second) st->deleted.erase(seq);
      st->deleted_by_commit.pop_front();
    }
  }

  ResetOnExit scan_reset(scan_);
  scan_.bind_text(1, uplink);
  size_t bytes = 0;
  int rc;
  while ((rc = scan_.step()) == SQLITE_ROW) {
    const int64_t seq = scan_.column_int(0);
    {
      std::lock_guard lk(state_mu_);
      if (st->leased.count(seq) != 0 || st->deleted.count(seq) != 0) continue;
    }
    ResetOnExit fetch_reset(fetch_);
    fetch_.bind_int(1, seq);
    int frc = fetch_.step();
    if (frc == SQLITE_DONE) continue;  // cannot happen inside one snapshot; harmless
    if (frc != SQLITE_ROW) return sqlite_status(frc, rdb_.get(), "store: lease");
    std::string_view payload = fetch_.column_blob(6);
    if (!out.empty() && bytes + payload.size() > max_bytes) break;

    StoredRow row;
    row.seq = seq;
    row.uplink = fetch_.column_text(0);
    row.route = fetch_.column_text(1);
    row.priority = static_cast<int>(fetch_.column_int(2));
    row.expires_at_ms = fetch_.column_int(3);
    row.cloud_topic = fetch_.column_text(4);
    Message& m = row.message;
    m.topic = fetch_.column_text(5);
    m.payload = payload;
    m.qos = static_cast<uint8_t>(fetch_.column_int(7));
    m.retain = fetch_.column_int(8) != 0;
    if (!fetch_.column_is_null(9)) {
      auto props = MessageProperties::decode(fetch_.column_blob(9));
      // TODO(issue 4): move such a row to the dead letters instead of
      // blocking the uplink on it.
      if (!props.is_ok()) {
        return props.status().with_context("store: row " + std::to_string(seq));
      }
      m.properties = std::move(props.value());
    }
    m.client_id = fetch_.column_text(10);
    m.username = fetch_.column_text(11);
    m.protocol_version = static_cast<uint8_t>(fetch_.column_int(12));
    m.received_at_ms = fetch_.column_int(13);
    bytes += payload.size();
    out.push_back(std::move(row));
    if (out.size() >= max_rows) break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return sqlite_status(rc, rdb_.get(), "store: lease");
  }
  std::lock_guard lk(state_mu_);
  for (const StoredRow& row : out) st->leased.insert(row.seq);
  return out;
}

void Store::Impl::release(std::string_view uplink, const std::vector<int64_t>& seqs) {
  {
    std::lock_guard lk(state_mu_);
    UplinkState& st = state_for(uplink);
    for (int64_t seq : seqs) st.leased.erase(seq);
    ++st.generation;
  }
  rows_cv_.notify_all();
}

void Store::Impl::wait_for_rows(std::string_view uplink, std::chrono::milliseconds timeout) {
  std::unique_lock lk(state_mu_);
  UplinkState& st = state_for(uplink);
  rows_cv_.wait_for(lk, timeout,
                    [&] { return readers_stop_ || st.generation != st.seen_generation; });
}

Result<int64_t> Store::Impl::count(std::string_view uplink) {
  std::lock_guard rl(read_mu_);
  ResetOnExit reset(count_);
  count_.bind_text(1, uplink);
  int rc = count_.step();
  if (rc != SQLITE_ROW) return sqlite_status(rc, rdb_.get(), "store: count");
  return count_.column_int(0);
}

StoreStats Store::Impl::stats() const {
  constexpr auto r = std::memory_order_relaxed;
  StoreStats s;
  s.commits = commits_.load(r);
  s.failed_commits = failed_commits_.load(r);
  s.appends = appends_.load(r);
  s.rows_appended = rows_appended_.load(r);
  s.rows_deleted = rows_deleted_.load(r);
  s.rejected_appends = rejected_.load(r);
  s.last_group_appends = last_group_.load(r);
  s.max_group_appends = max_group_.load(r);
  s.commit_ns_total = commit_ns_.load(r);
  return s;
}

// --- Store: forwards to Impl ---

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options, const Clock& clock) {
  auto impl = std::make_unique<Impl>(options, clock);
  GW_RETURN_IF_ERROR(impl->open());
  impl->start();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Status Store::append(std::vector<NewRow> rows, Completion done) {
  return impl_->append(std::move(rows), std::move(done));
}
Result<std::vector<StoredRow>> Store::lease(std::string_view uplink, size_t max_rows,
                                            size_t max_bytes) {
  return impl_->lease(uplink, max_rows, max_bytes);
}
void Store::ack(std::string_view uplink, std::vector<int64_t> seqs, uint64_t batch_seq,
                Completion done) {
  impl_->ack(uplink, std::move(seqs), batch_seq, std::move(done));
}
void Store::release(std::string_view uplink, const std::vector<int64_t>& seqs) {
  impl_->release(uplink, seqs);
}
void Store::wait_for_rows(std::string_view uplink, std::chrono::milliseconds timeout) {
  impl_->wait_for_rows(uplink, timeout);
}
uint64_t Store::last_batch_seq(std::string_view uplink) { return impl_->last_batch_seq(uplink); }
Result<int64_t> Store::count(std::string_view uplink) { return impl_->count(uplink); }
void Store::flush() { impl_->flush(); }
Status Store::health() const { return impl_->health(); }
StoreStats Store::stats() const { return impl_->stats(); }

}  // namespace gw::store
