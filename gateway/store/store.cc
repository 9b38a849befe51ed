// Store implementation. Four pieces of state, each with one guard:
//
//  - the hand-off queue (mu_): ops waiting for the writer, the error state
//    (error_, its retry time), bytes of queued appends and the stop flag.
//    append()/ack()/flush() push, the writer pops groups.
//  - the writer connection and its statements: writer thread only (and the
//    opening thread before the writer starts).
//  - the read connection and its statements (read_mu_), used by lease() and
//    count(); WAL lets it read while the writer writes.
//  - per-uplink lease state (state_mu_): leased seqs, recently deleted seqs,
//    generations for wait_for_rows(), last_batch_seq, the live-first marks.
//    Lock order: read_mu_ before state_mu_; mu_ is never held with either.
//
// Group commit (after leveldb's BuildBatchGroup, written for SQLite): the
// writer waits for the first op, then until group_max_messages appends are
// queued or group_window has passed since the oldest queued op (a flush or
// stop closes the group at once), takes them all and runs one transaction.
// While it commits, new appends pile up and form the next group, so under
// load groups grow by themselves and the window costs nothing.
//
// Caps: the writer keeps the accounted bytes of all stored rows
// (stored_bytes_); append() adds the bytes of queued appends (pending_bytes_)
// so `reject` refuses at once, before the device waits for a commit. `evict`
// is decided by the writer inside the group's transaction.
//
// Maintenance (every sweep_interval, on the writer): TTL sweep, free-disk
// check, and a recount when another process changed the file (PRAGMA
// data_version), e.g. `edge-gateway queue purge`.
#include "gateway/store/store.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <utility>

#include "gateway/core/cpu_affinity.h"
#include "gateway/core/log.h"
#include "gateway/core/proc_io.h"
#include "gateway/core/wake_batch.h"
#include "gateway/store/internal/schema.h"
#include "gateway/store/internal/sqlite.h"
#include "gateway/store/internal/wal_vfs.h"

namespace gw::store {
namespace {
// This module's logger (core/log.h).
spdlog::logger& logger() { return log::get(log::Module::kStore); }
}  // namespace

using internal::Db;
using internal::ResetOnExit;
using internal::sqlite_status;
using internal::Stmt;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

constexpr int64_t kMaxSeq = std::numeric_limits<int64_t>::max();

// Appended rows go in up to kInsertRows per INSERT: a statement's fixed
// cost (AUTOINCREMENT's sqlite_sequence read and write among it) is then
// shared by its rows, about a quarter of an insert's CPU at one per row.
constexpr size_t kInsertRows = 16;
constexpr int kInsertColumns = 14;
std::string insert_sql(size_t rows) {
  std::string sql =
      "INSERT INTO messages (uplink, route, priority, expires_at_ms, cloud_topic, topic, payload, "
      "qos, retain, props, client_id, username, protocol_version, received_at_ms) VALUES ";
  std::string tuple = "(?";
  for (int c = 1; c < kInsertColumns; ++c) tuple += ",?";
  tuple += ')';
  for (size_t r = 0; r < rows; ++r) {
    if (r > 0) sql += ',';
    sql += tuple;
  }
  return sql;
}
// A run of consecutive seqs in one statement: per-row statements cost ~2x.
// The run is measured, then deleted: a DELETE ... RETURNING of the sizes
// costs ~1.7x the two (it collects the rows before deleting them).
constexpr const char* kRangeSizeSql =
    "SELECT count(*), ifnull(sum(" GW_ROW_BYTES_SQL "), 0) FROM messages WHERE seq BETWEEN ?1 AND ?2";
constexpr const char* kDeleteSql = "DELETE FROM messages WHERE seq BETWEEN ?1 AND ?2";
constexpr const char* kDeadLetterSql =
    "INSERT OR REPLACE INTO dead_letters (seq, uplink, route, priority, expires_at_ms, "
    "cloud_topic, topic, payload, qos, retain, props, client_id, username, protocol_version, "
    "received_at_ms, reason, dead_at_ms) SELECT seq, uplink, route, priority, expires_at_ms, "
    "cloud_topic, topic, payload, qos, retain, props, client_id, username, protocol_version, "
    "received_at_ms, ?2, ?3 FROM messages WHERE seq = ?1";
constexpr const char* kUpsertBatchSql =
    "INSERT INTO uplink_state (uplink, last_batch_seq) VALUES (?1, ?2) "
    "ON CONFLICT (uplink) DO UPDATE SET "
    "last_batch_seq = max(last_batch_seq, excluded.last_batch_seq)";
// Eviction candidates of one uplink and priority, oldest first
// (messages_by_uplink, no sort).
constexpr const char* kEvictScanSql =
    "SELECT seq, " GW_ROW_BYTES_SQL " FROM messages WHERE uplink = ?1 AND priority = ?2 ORDER BY seq";
constexpr const char* kExpiredSql =
    "SELECT seq FROM messages WHERE expires_at_ms > 0 AND expires_at_ms <= ?1 "
    "ORDER BY expires_at_ms LIMIT ?2";
constexpr const char* kTotalsSql =
    "SELECT count(*), ifnull(sum(" GW_ROW_BYTES_SQL "), 0) FROM messages";
// Covering range scan of messages_by_uplink (uplink, priority DESC, seq):
// seq only, so skipping leased rows never reads their payloads.
constexpr const char* kScanSql =
    "SELECT seq FROM messages WHERE uplink = ?1 AND priority = ?2 AND seq >= ?3 AND seq < ?4 "
    "ORDER BY seq";
// A run of consecutive chosen seqs in one statement, as acks delete them.
constexpr const char* kFetchSql =
    "SELECT uplink, route, priority, expires_at_ms, cloud_topic, topic, payload, qos, retain, "
    "props, client_id, username, protocol_version, received_at_ms, seq FROM messages "
    "WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq";
constexpr const char* kCountSql = "SELECT count(*) FROM messages WHERE uplink = ?1";
// Covered by messages_by_uplink (uplink, priority DESC, seq).
constexpr const char* kDepthSql =
    "SELECT priority, count(*), min(seq) FROM messages WHERE uplink = ?1 GROUP BY priority "
    "ORDER BY priority DESC";
constexpr const char* kReceivedAtSql = "SELECT received_at_ms FROM messages WHERE seq = ?1";
constexpr const char* kMarkQos2Sql =
    "INSERT OR REPLACE INTO qos2_received (client_id, packet_id, received_at_ms) VALUES (?1, ?2, ?3)";
constexpr const char* kReleaseQos2Sql = "DELETE FROM qos2_received WHERE client_id = ?1 AND packet_id = ?2";
constexpr const char* kDropQos2Sql = "DELETE FROM qos2_received WHERE client_id = ?1";
constexpr const char* kSetRetainedSql =
    "INSERT OR REPLACE INTO retained (topic, payload, qos, props, client_id, username, protocol_version, "
    "received_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* kClearRetainedSql = "DELETE FROM retained WHERE topic = ?1";

constexpr int64_t kSweepBatch = 5000;        // expired rows per sweep transaction
constexpr size_t kMaxLiveMarks = 4096;       // commits remembered for live_first
constexpr auto kDiskCheckEvery = std::chrono::milliseconds(250);
constexpr uint64_t kCheckpointPages = 1000;  // as SQLite's default wal_autocheckpoint

// Accounted bytes of a row; must match GW_ROW_BYTES_SQL (internal/schema.h).
uint64_t row_bytes(const NewRow& row, size_t props_bytes) {
  return row.message.payload.size() + props_bytes + row.message.topic.size() +
         row.cloud_topic.size() + kRowOverheadBytes;
}

struct Op {
  enum class Kind : uint8_t { kAppend, kAck, kFlush, kDeadLetter, kSweep, kReleaseQos2, kDropQos2, kPutRetained };
  Kind kind = Kind::kAppend;
  std::vector<NewRow> rows;    // kAppend
  AppendExtras extras;         // kAppend; kPutRetained (only .retained)
  Qos2Marker marker;           // kReleaseQos2 (client and id), kDropQos2 (client)
  uint64_t bytes = 0;          // kAppend: accounted bytes of rows
  std::string uplink;          // kAck, kDeadLetter
  std::vector<int64_t> seqs;   // kAck, kDeadLetter
  uint64_t batch_seq = 0;      // kAck
  std::string reason;          // kDeadLetter
  Store::Completion done;      // may be empty for kAck, kDeadLetter
  SteadyTime enqueued;
  Status result;               // kAppend: refused by the writer (full) although the commit is OK
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
  double share_credit = 0;  // lower-priority rows owed to this uplink's leases
  // Per priority: no row below this seq can be leased (each is leased,
  // deleted or expired), so a lease scan starts there instead of walking
  // past every row in flight. Raised by lease(), lowered by releases.
  std::array<int64_t, kMaxPriority + 1> scan_floor{};
  uint64_t releases = 0;  // bumped by every release; lease() raises floors only if unchanged
};

void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

// Logs at most once per interval per instance, with the number suppressed.
class RateLimitedLog {
 public:
  template <typename... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) {
      ++suppressed_;
      return;
    }
    next_ = now + std::chrono::seconds(10);
    std::string text = fmt::format(f, std::forward<Args>(args)...);
    if (suppressed_ > 0) text += fmt::format(" ({} more like this in the last 10s)", suppressed_);
    suppressed_ = 0;
    logger().warn("{}", text);
  }

 private:
  SteadyTime next_{};
  uint64_t suppressed_ = 0;
};

// write_bytes of the calling thread (what reached the block layer), or 0.
uint64_t thread_write_bytes() { return io_counter(IoScope::kThread, "write_bytes"); }

std::string utc_stamp(int64_t wall_ms) {
  const std::time_t t = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

class Store::Impl {
 public:
  Impl(const StoreOptions& options, const Clock& clock) : options_(options), clock_(clock) {
    if (options_.group_max_messages == 0) options_.group_max_messages = 1;
    options_.lower_priority_share = std::clamp(options_.lower_priority_share, 0.0, 1.0);
    if (options_.sweep_interval.count() <= 0) options_.sweep_interval = std::chrono::seconds(1);
  }
  ~Impl() { shutdown(); }

  Status open();
  void start() {
    writer_ = std::thread([this] { run_writer(); });
  }
  void shutdown();

  Status append(std::vector<NewRow> rows, Completion done, AppendExtras extras);
  void release_qos2(std::string client_id, uint16_t packet_id, Completion done);
  void drop_qos2(std::string client_id, Completion done);
  Result<std::map<std::string, std::vector<uint16_t>, std::less<>>> qos2_received();
  void put_retained(Message msg, Completion done);
  Result<std::vector<Message>> retained_messages();
  void ack(std::string_view uplink, std::vector<int64_t> seqs, uint64_t batch_seq,
           Completion done);
  void dead_letter(std::string_view uplink, std::vector<int64_t> seqs, std::string reason,
                   Completion done);
  void flush() { enqueue_and_wait(Op::Kind::kFlush); }
  void expire_now() { enqueue_and_wait(Op::Kind::kSweep); }
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
  Result<std::vector<PriorityDepth>> depth(std::string_view uplink);
  StoreStats stats() const;

 private:
  Status open_files();
  void close_files();
  Status move_aside(const Status& why);
  Status recount();
  void enqueue(Op op);  // an ack, dead letter, flush or sweep
  void enqueue_and_wait(Op::Kind kind);
  void run_writer();
  void maintenance(bool sweep);
  void check_disk(bool force);
  Status sweep_expired();
  Status write_extras(const AppendExtras& extras, int64_t now_ms);
  Status insert_pending(int64_t& first_seq);
  Status commit_group(std::vector<Op>& group, std::vector<std::string_view>& touched,
                      int64_t& first_seq);
  bool evict(uint64_t need, int max_priority);
  Status move_to_dead_letters(int64_t seq, const std::string& reason, int64_t now_ms,
                              bool& moved);
  Status delete_row(int64_t seq, bool& deleted);
  Status delete_rows(std::vector<int64_t>& seqs, uint64_t& deleted);  // sorts seqs
  Status delete_range(int64_t first, int64_t last, uint64_t& deleted);
  Status fail(Status s, int rc);
  bool writable();  // writer: false while in error and before the retry time
  void after_commit_ok();
  uint64_t cap() const;
  void release_seqs(const std::string& uplink, const std::vector<int64_t>& seqs);
  UplinkState& state_for(std::string_view uplink);  // Requires: state_mu_
  static int on_wal(void* self, sqlite3* db, const char* name, int pages);

  StoreOptions options_;
  const Clock& clock_;

  // Hand-off queue (mu_).
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Op> queue_;
  size_t queued_appends_ = 0;
  size_t queued_closers_ = 0;      // flushes and sweeps: close the group at once
  uint64_t pending_bytes_ = 0;     // accounted bytes of queued appends
  bool stop_ = false;
  Status error_;                   // guarded by mu_
  bool error_retryable_ = false;   // guarded by mu_
  SteadyTime retry_at_{};          // guarded by mu_
  std::atomic<bool> failed_{false};      // mirrors !error_.is_ok() for lock-free checks
  std::atomic<bool> recovering_{false};  // an error was cleared for a retry

  // Writer thread only. Statements are declared after their Db so they are
  // finalized first.
  Db wdb_;
  std::array<Stmt, kInsertRows> inserts_;  // [n - 1] inserts n rows
  std::vector<const NewRow*> pending_rows_;  // writer: appended rows not yet inserted
  std::array<std::string, kInsertRows> insert_props_;  // their encoded properties, while bound
  Stmt begin_, commit_, rollback_, range_size_, delete_, dead_letter_, upsert_batch_, evict_scan_,
      uplinks_with_rows_, expired_, mark_qos2_, release_qos2_, drop_qos2_, set_retained_, clear_retained_;
  std::thread writer_;
  uint64_t commit_number_ = 0;
  std::chrono::milliseconds backoff_{0};
  SteadyTime next_tick_{};
  SteadyTime next_disk_check_{};
  int64_t data_version_ = -1;
  int64_t page_size_ = 4096;
  int64_t last_wal_log_ = 0, last_wal_ckpt_ = 0;
  RateLimitedLog full_log_, evict_log_, expire_log_, error_log_;

  // Read connection (read_mu_).
  std::mutex read_mu_;
  Db rdb_;
  Stmt read_begin_, read_end_, scan_, fetch_, count_, depth_, received_at_;

  // Lease state (state_mu_).
  std::mutex state_mu_;
  std::condition_variable rows_cv_;
  std::map<std::string, UplinkState, std::less<>> uplinks_;
  uint64_t committed_number_ = 0;  // last commit whose effects are visible to new readers
  bool readers_stop_ = false;
  std::deque<std::pair<SteadyTime, int64_t>> live_marks_;  // (commit time, its first seq)

  // Stats (relaxed atomics; the writer is the only writer of most).
  std::atomic<uint64_t> commits_{0}, failed_commits_{0}, appends_{0}, rows_appended_{0},
      rows_deleted_{0}, rejected_{0}, last_group_{0}, max_group_{0}, commit_ns_{0};
  std::atomic<uint64_t> rows_stored_{0}, bytes_stored_{0}, full_rejects_{0}, rows_evicted_{0},
      bytes_evicted_{0}, rows_expired_{0}, rows_dead_lettered_{0}, recoveries_{0},
      sqlite_bytes_{0}, checkpoint_bytes_{0}, disk_write_bytes_{0};
  std::atomic<bool> disk_low_{false}, moved_aside_{false};
  std::atomic<uint64_t> frozen_cap_{0};  // bytes stored when the disk went low
};

// ---- open ------------------------------------------------------------------

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
  Status s = open_files();
  if (s.code() == StatusCode::kDataLoss && options_.move_damaged_aside) {
    // Renamed while still open: SQLite's close then checkpoints into (and
    // cannot delete) the renamed files, so the WAL is kept with the evidence.
    Status moved = move_aside(s);
    close_files();
    GW_RETURN_IF_ERROR(moved);
    s = open_files();
  }
  if (!s.is_ok()) return s;
  check_disk(/*force=*/true);
  return Status::ok();
}

void Store::Impl::close_files() {
  for (Stmt& st : inserts_) st = Stmt();
  for (Stmt* st : {&begin_, &commit_, &rollback_, &range_size_, &delete_, &dead_letter_,
                   &upsert_batch_, &evict_scan_, &uplinks_with_rows_, &expired_, &mark_qos2_, &release_qos2_,
                   &drop_qos2_, &set_retained_, &clear_retained_, &read_begin_, &read_end_, &scan_, &fetch_,
                   &count_, &depth_, &received_at_}) {
    *st = Stmt();
  }
  wdb_.close();
  rdb_.close();
  uplinks_.clear();
}

// Renames the damaged file and its WAL and shared-memory files to
// <path>.damaged-<UTC>[-wal|-shm], so an operator can inspect them and the
// gateway starts with an empty queue instead of failing at every restart.
Status Store::Impl::move_aside(const Status& why) {
  namespace fs = std::filesystem;
  const std::string target = options_.path + ".damaged-" + utc_stamp(clock_.wall_ms());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const fs::path from = options_.path + suffix;
    std::error_code ec;
    if (!fs::exists(from, ec)) continue;
    fs::rename(from, target + suffix, ec);
    if (ec) {
      return why.with_context("store: cannot move the damaged database aside (" + from.string() +
                              ": " + ec.message() + ")");
    }
  }
  logger().error(
      "store: {} is damaged ({}); moved it aside to {} and started an empty queue: the "
      "messages in the damaged file are NOT sent",
      options_.path, why.message(), target);
  moved_aside_.store(true, std::memory_order_relaxed);
  return Status::ok();
}

Status Store::Impl::open_files() {
  // With synchronous = FULL each commit's WAL frames go out in one write
  // (internal/wal_vfs.h); NORMAL has no WAL sync for that VFS to rely on.
  auto db = Db::open(options_.path, /*create=*/true, /*read_only=*/false,
                     options_.durability == Durability::kFsync ? internal::coalescing_wal_vfs() : nullptr);
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
  auto page_size = wdb_.query_int("PRAGMA page_size");
  if (page_size.is_ok() && *page_size > 0) page_size_ = *page_size;
  // Our own checkpoints (replacing wal_autocheckpoint), so their writes are counted.
  sqlite3_wal_hook(wdb_.get(), &Impl::on_wal, this);

  for (auto [stmt, sql] :
       {std::pair{&begin_, "BEGIN IMMEDIATE"}, {&commit_, "COMMIT"}, {&rollback_, "ROLLBACK"},
        {&range_size_, kRangeSizeSql}, {&delete_, kDeleteSql}, {&dead_letter_, kDeadLetterSql},
        {&upsert_batch_, kUpsertBatchSql}, {&evict_scan_, kEvictScanSql},
        {&uplinks_with_rows_, internal::kUplinksWithRowsSql},
        {&expired_, kExpiredSql}, {&mark_qos2_, kMarkQos2Sql},
        {&release_qos2_, kReleaseQos2Sql}, {&drop_qos2_, kDropQos2Sql},
        {&set_retained_, kSetRetainedSql}, {&clear_retained_, kClearRetainedSql}}) {
    auto s = Stmt::prepare(wdb_, sql);
    if (!s.is_ok()) return s.status().with_context("store");
    *stmt = std::move(s.value());
  }
  for (size_t n = 1; n <= kInsertRows; ++n) {
    auto s = Stmt::prepare(wdb_, insert_sql(n).c_str());
    if (!s.is_ok()) return s.status().with_context("store");
    inserts_[n - 1] = std::move(s.value());
  }

  auto rdb = Db::open(options_.path, /*create=*/false);
  if (!rdb.is_ok()) return rdb.status().with_context("store: read connection");
  rdb_ = std::move(rdb.value());
  GW_RETURN_IF_ERROR(rdb_.exec("PRAGMA query_only = 1"));
  for (auto [stmt, sql] :
       {std::pair{&read_begin_, "BEGIN"}, {&read_end_, "COMMIT"}, {&scan_, kScanSql}, {&fetch_, kFetchSql},
        {&count_, kCountSql}, {&depth_, kDepthSql},
        {&received_at_, kReceivedAtSql}}) {
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
  return recount();
}

// Rebuilds the row and byte totals from the file (O(rows); on open and after
// another process changed the file).
Status Store::Impl::recount() {
  auto totals = Stmt::prepare(wdb_, kTotalsSql);
  if (!totals.is_ok()) return totals.status().with_context("store");
  const int rc = totals->step();
  if (rc != SQLITE_ROW) return sqlite_status(rc, wdb_.get(), "store: count rows");
  rows_stored_.store(static_cast<uint64_t>(totals->column_int(0)), std::memory_order_relaxed);
  bytes_stored_.store(static_cast<uint64_t>(totals->column_int(1)), std::memory_order_relaxed);
  totals->reset();
  auto version = wdb_.query_int("PRAGMA data_version");
  if (version.is_ok()) data_version_ = *version;
  return Status::ok();
}

int Store::Impl::on_wal(void* self, sqlite3* db, const char* name, int pages) {
  auto* impl = static_cast<Impl*>(self);
  if (static_cast<uint64_t>(pages) < kCheckpointPages) return SQLITE_OK;
  int log = 0, ckpt = 0;
  // PASSIVE: never waits for readers (a lease, the queue command); what it
  // cannot copy now is copied next time.
  if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt) == SQLITE_OK) {
    if (log < impl->last_wal_log_) impl->last_wal_ckpt_ = 0;  // the WAL restarted
    const int64_t copied = std::max<int64_t>(0, ckpt - impl->last_wal_ckpt_);
    impl->checkpoint_bytes_.fetch_add(static_cast<uint64_t>(copied * impl->page_size_),
                                      std::memory_order_relaxed);
    impl->last_wal_log_ = log;
    impl->last_wal_ckpt_ = ckpt;
  }
  return SQLITE_OK;
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

// ---- producers ---------------------------------------------------------------

void Store::Impl::enqueue(Op op) {
  op.enqueued = std::chrono::steady_clock::now();
  bool wake;
  {
    std::lock_guard lk(mu_);
    // An ack waits in the group like an append; a flush or sweep closes it at once.
    wake = queue_.empty();
    if (op.kind == Op::Kind::kFlush || op.kind == Op::Kind::kSweep) {
      ++queued_closers_;
      wake = true;
    }
    queue_.push_back(std::move(op));
  }
  if (wake) work_cv_.notify_one();
}

void Store::Impl::enqueue_and_wait(Op::Kind kind) {
  std::promise<void> committed;
  std::future<void> f = committed.get_future();
  Op op;
  op.kind = kind;
  op.done = [&committed](const Status&) { committed.set_value(); };
  enqueue(std::move(op));
  f.wait();
}

uint64_t Store::Impl::cap() const {
  uint64_t c = options_.max_bytes == 0 ? std::numeric_limits<uint64_t>::max() : options_.max_bytes;
  if (disk_low_.load(std::memory_order_relaxed)) {
    c = std::min(c, frozen_cap_.load(std::memory_order_relaxed));
  }
  return c;
}

Status Store::Impl::append(std::vector<NewRow> rows, Completion done, AppendExtras extras) {
  uint64_t bytes = 0;
  for (const NewRow& row : rows) {
    if (row.uplink.empty()) return invalid_argument("store: row without an uplink");
    if (row.priority < 0 || row.priority > 9) {
      return invalid_argument("store: priority " + std::to_string(row.priority) +
                              " is outside 0..9");
    }
    // The encoded properties' size, as recount() will see it on disk.
    bytes += row_bytes(row, row.message.properties.empty() ? 0
                                                           : row.message.properties.encode().size());
  }
  Op op;
  op.kind = Op::Kind::kAppend;
  op.rows = std::move(rows);
  op.extras = std::move(extras);
  op.bytes = bytes;
  op.done = std::move(done);
  op.enqueued = std::chrono::steady_clock::now();
  const uint64_t limit = cap();
  {
    std::lock_guard lk(mu_);
    if (!error_.is_ok()) {
      if (error_retryable_ && op.enqueued >= retry_at_) {
        // Back-off over: let this append through; the writer tries again.
        error_ = Status::ok();
        failed_.store(false, std::memory_order_relaxed);
        recovering_.store(true, std::memory_order_relaxed);
      } else {
        rejected_.fetch_add(1, std::memory_order_relaxed);
        return error_;
      }
    }
    if (queued_appends_ >= options_.max_pending) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return unavailable("store: " + std::to_string(queued_appends_) +
                         " appends are waiting for the writer");
    }
    const uint64_t stored = bytes_stored_.load(std::memory_order_relaxed);
    // No rows (only extras): nothing the caps count, never refused for them.
    const bool over = bytes > 0 && stored + pending_bytes_ + bytes > limit;
    if (over && (options_.on_full == FullPolicy::kReject || bytes > limit)) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      full_rejects_.fetch_add(1, std::memory_order_relaxed);
      return resource_exhausted("store: queue full (" + std::to_string(stored) + " of " +
                                std::to_string(limit) + " bytes" +
                                (disk_low_.load(std::memory_order_relaxed)
                                     ? ", free disk below store.min_free_disk)"
                                     : ", store.max_bytes)"));
    }
    pending_bytes_ += bytes;
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

void Store::Impl::release_qos2(std::string client_id, uint16_t packet_id, Completion done) {
  Op op;
  op.kind = Op::Kind::kReleaseQos2;
  op.marker = Qos2Marker{std::move(client_id), packet_id};
  op.done = std::move(done);
  enqueue(std::move(op));
}

void Store::Impl::drop_qos2(std::string client_id, Completion done) {
  Op op;
  op.kind = Op::Kind::kDropQos2;
  op.marker.client_id = std::move(client_id);
  op.done = std::move(done);
  enqueue(std::move(op));
}

Result<std::map<std::string, std::vector<uint16_t>, std::less<>>> Store::Impl::qos2_received() {
  std::lock_guard rl(read_mu_);
  auto st = Stmt::prepare(rdb_, "SELECT client_id, packet_id FROM qos2_received ORDER BY client_id, packet_id");
  if (!st.is_ok()) return st.status().with_context("store: qos2_received");
  std::map<std::string, std::vector<uint16_t>, std::less<>> out;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    out[std::string(st->column_text(0))].push_back(static_cast<uint16_t>(st->column_int(1)));
  }
  if (rc != SQLITE_DONE) return sqlite_status(rc, rdb_.get(), "store: read qos2_received");
  return out;
}

void Store::Impl::put_retained(Message msg, Completion done) {
  Op op;
  op.kind = Op::Kind::kPutRetained;
  op.extras.retained = std::move(msg);
  op.done = std::move(done);
  enqueue(std::move(op));
}

Result<std::vector<Message>> Store::Impl::retained_messages() {
  std::lock_guard rl(read_mu_);
  auto st = Stmt::prepare(rdb_,
                          "SELECT topic, payload, qos, props, client_id, username, protocol_version, "
                          "received_at_ms FROM retained ORDER BY topic");
  if (!st.is_ok()) return st.status().with_context("store: retained");
  std::vector<Message> out;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    Message m;
    m.topic = st->column_text(0);
    m.payload = st->column_blob(1);
    m.qos = static_cast<uint8_t>(st->column_int(2));
    m.retain = true;
    if (!st->column_is_null(3)) {
      auto props = MessageProperties::decode(st->column_blob(3));
      if (!props.is_ok()) return props.status().with_context("store: retained message of '" + m.topic + "'");
      m.properties = std::move(props.value());
    }
    m.client_id = st->column_text(4);
    m.username = st->column_text(5);
    m.protocol_version = static_cast<uint8_t>(st->column_int(6));
    m.received_at_ms = st->column_int(7);
    out.push_back(std::move(m));
  }
  if (rc != SQLITE_DONE) return sqlite_status(rc, rdb_.get(), "store: read retained");
  return out;
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

void Store::Impl::dead_letter(std::string_view uplink, std::vector<int64_t> seqs,
                              std::string reason, Completion done) {
  {
    // Not leased again while the move is pending.
    std::lock_guard lk(state_mu_);
    UplinkState& st = state_for(uplink);
    for (int64_t seq : seqs) st.leased.insert(seq);
  }
  Op op;
  op.kind = Op::Kind::kDeadLetter;
  op.uplink = std::string(uplink);
  op.seqs = std::move(seqs);
  op.reason = std::move(reason);
  op.done = std::move(done);
  enqueue(std::move(op));
}

// ---- writer ------------------------------------------------------------------

void Store::Impl::run_writer() {
  name_this_thread("gw-store-writer");
  pin_this_thread_logged(options_.cpus, logger(), "store writer");
  std::vector<Op> group;
  std::vector<std::string_view> touched;  // uplinks that got rows in this group
  next_tick_ = std::chrono::steady_clock::now() + options_.sweep_interval;
  for (;;) {
    size_t appends = 0;
    bool sweep_asked = false;
    bool closer = false;
    {
      std::unique_lock lk(mu_);
      while (!stop_ && queue_.empty() && std::chrono::steady_clock::now() < next_tick_) {
        work_cv_.wait_until(lk, next_tick_);
      }
      if (queue_.empty() && stop_) return;  // stop_ and everything committed
      if (!queue_.empty()) {
        const SteadyTime deadline = queue_.front().enqueued + options_.group_window;
        while (!stop_ && queued_closers_ == 0 && queued_appends_ < options_.group_max_messages &&
               std::chrono::steady_clock::now() < deadline) {
          work_cv_.wait_until(lk, deadline);
        }
        uint64_t bytes = 0;
        while (!queue_.empty() && appends < options_.group_max_messages) {
          Op& op = queue_.front();
          if (op.kind == Op::Kind::kAppend) {
            ++appends;
            bytes += op.bytes;
          } else if (op.kind == Op::Kind::kFlush || op.kind == Op::Kind::kSweep) {
            --queued_closers_;
            closer = true;
            sweep_asked |= op.kind == Op::Kind::kSweep;
          }
          group.push_back(std::move(op));
          queue_.pop_front();
        }
        queued_appends_ -= appends;
        pending_bytes_ -= bytes;
      }
    }

    const SteadyTime now = std::chrono::steady_clock::now();
    if (closer) disk_write_bytes_.store(thread_write_bytes(), std::memory_order_relaxed);
    if (sweep_asked || now >= next_tick_) {
      next_tick_ = now + options_.sweep_interval;
      maintenance(/*sweep=*/true);
    }
    if (group.empty()) continue;

    touched.clear();
    int64_t first_seq = 0;
    const Status status = commit_group(group, touched, first_seq);
    if (status.is_ok()) {
      std::lock_guard lk(state_mu_);
      committed_number_ = commit_number_;
      for (std::string_view uplink : touched) ++state_for(uplink).generation;
      if (first_seq > 0) {
        live_marks_.emplace_back(clock_.now(), first_seq);
        if (live_marks_.size() > kMaxLiveMarks) live_marks_.pop_front();
      }
      for (const Op& op : group) {
        if (op.kind != Op::Kind::kAck && op.kind != Op::Kind::kDeadLetter) continue;
        UplinkState& st = state_for(op.uplink);
        for (int64_t seq : op.seqs) {
          st.leased.erase(seq);
          st.deleted.insert(seq);
        }
        st.deleted_by_commit.emplace_back(commit_number_, op.seqs);
        if (op.kind == Op::Kind::kAck) st.last_batch_seq = std::max(st.last_batch_seq, op.batch_seq);
      }
    } else {
      // Nothing of the group is on disk: acked and dead-lettered rows stay
      // and are sent again (at-least-once).
      for (const Op& op : group) {
        if (op.kind == Op::Kind::kAck || op.kind == Op::Kind::kDeadLetter) {
          release_seqs(op.uplink, op.seqs);
        }
      }
    }
    {
      // The group's answers first, with one wake-up per consumer (WakeBatch),
      // then the uplinks: a device waits for its PUBACK, an uplink does not.
      WakeBatch batch;
      for (Op& op : group) {
        if (!op.done) continue;
        op.done(status.is_ok() && !op.result.is_ok() ? op.result : status);
      }
    }
    if (status.is_ok() && !touched.empty()) rows_cv_.notify_all();
    group.clear();
  }
}

void Store::Impl::release_seqs(const std::string& uplink, const std::vector<int64_t>& seqs) {
  {
    std::lock_guard lk(state_mu_);
    UplinkState& st = state_for(uplink);
    for (int64_t seq : seqs) {
      st.leased.erase(seq);
      for (int64_t& floor : st.scan_floor) floor = std::min(floor, seq);
    }
    ++st.generation;
    ++st.releases;
  }
  rows_cv_.notify_all();
}

void Store::Impl::check_disk(bool force) {
  if (options_.min_free_disk == 0) return;
  const SteadyTime now = std::chrono::steady_clock::now();
  if (!force && now < next_disk_check_) return;
  next_disk_check_ = now + kDiskCheckEvery;
  namespace fs = std::filesystem;
  fs::path dir = fs::path(options_.path).parent_path();
  if (dir.empty()) dir = ".";
  struct statvfs vfs {};
  if (statvfs(dir.c_str(), &vfs) != 0) return;
  const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  const bool was_low = disk_low_.load(std::memory_order_relaxed);
  if (!was_low && free_bytes < options_.min_free_disk) {
    frozen_cap_.store(bytes_stored_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    disk_low_.store(true, std::memory_order_relaxed);
    logger().warn(
        "store: only {} bytes free on the filesystem of {} (store.min_free_disk {}): the queue "
        "stops growing at {} bytes (on_full: {})",
        free_bytes, options_.path, options_.min_free_disk, frozen_cap_.load(),
        options_.on_full == FullPolicy::kReject ? "reject" : "evict");
  } else if (was_low && free_bytes >= options_.min_free_disk + options_.min_free_disk / 8) {
    // A little hysteresis so the state does not flap at the threshold.
    disk_low_.store(false, std::memory_order_relaxed);
    logger().info("store: {} bytes free again on the filesystem of {}; the queue may grow",
                 free_bytes, options_.path);
  }
}

void Store::Impl::maintenance(bool sweep) {
  check_disk(/*force=*/true);
  auto version = wdb_.query_int("PRAGMA data_version");
  if (version.is_ok() && *version != data_version_) {
    // Another process (edge-gateway queue ...) changed the file: totals are
    // stale and replayed rows may be leasable.
    if (Status s = recount(); !s.is_ok()) {
      error_log_.warn("store: recount after an external change failed: {}", s.to_string());
    }
    {
      std::lock_guard lk(state_mu_);
      for (auto& [name, st] : uplinks_) ++st.generation;
    }
    rows_cv_.notify_all();
  }
  if (sweep && writable()) {
    if (Status s = sweep_expired(); !s.is_ok()) {
      error_log_.warn("store: TTL sweep failed: {}", s.to_string());
    }
  }
  disk_write_bytes_.store(thread_write_bytes(), std::memory_order_relaxed);
}

bool Store::Impl::writable() {
  if (!failed_.load(std::memory_order_relaxed)) return true;
  std::lock_guard lk(mu_);
  if (error_.is_ok()) return true;
  if (!error_retryable_ || std::chrono::steady_clock::now() < retry_at_) return false;
  error_ = Status::ok();
  failed_.store(false, std::memory_order_relaxed);
  recovering_.store(true, std::memory_order_relaxed);
  return true;
}

void Store::Impl::after_commit_ok() {
  if (recovering_.exchange(false, std::memory_order_relaxed)) {
    recoveries_.fetch_add(1, std::memory_order_relaxed);
    backoff_ = std::chrono::milliseconds(0);
    logger().info("store: writes succeed again; accepting messages");
  }
}

Status Store::Impl::fail(Status s, int rc) {
  failed_commits_.fetch_add(1, std::memory_order_relaxed);
  // SQLite may have rolled back by itself (e.g. some I/O errors), or BEGIN failed.
  if (sqlite3_get_autocommit(wdb_.get()) == 0) {
    (void)rollback_.step();
    rollback_.reset();
  }
  const bool retry = internal::is_retryable(rc);
  if (retry) {
    backoff_ = backoff_.count() == 0 ? options_.retry_initial
                                     : std::min(backoff_ * 2, options_.retry_max);
    s = s.with_context("store: commit failed (nothing of it was acknowledged); appends are "
                       "refused for " + std::to_string(backoff_.count()) +
                       "ms, then retried");
    error_log_.warn("{}", s.to_string());
  } else {
    s = s.with_context("store: commit failed; no further messages are acknowledged until the "
                       "store is reopened");
    logger().error("{}", s.to_string());
  }
  recovering_.store(false, std::memory_order_relaxed);
  std::lock_guard lk(mu_);
  error_ = s;
  error_retryable_ = retry;
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  failed_.store(true, std::memory_order_relaxed);
  return s;
}

Status Store::Impl::delete_row(int64_t seq, bool& deleted) {
  uint64_t n = 0;
  GW_RETURN_IF_ERROR(delete_range(seq, seq, n));
  deleted = n > 0;
  return Status::ok();
}

// Acks carry the seqs of whole batches, mostly consecutive: one statement
// per run of consecutive seqs.
Status Store::Impl::delete_rows(std::vector<int64_t>& seqs, uint64_t& deleted) {
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  for (size_t i = 0; i < seqs.size();) {
    size_t j = i + 1;
    while (j < seqs.size() && seqs[j] == seqs[j - 1] + 1) ++j;
    GW_RETURN_IF_ERROR(delete_range(seqs[i], seqs[j - 1], deleted));
    i = j;
  }
  return Status::ok();
}

// Deletes the rows first..last (all of them: callers pass only seqs they
// mean to delete) and adds how many existed to `deleted`.
Status Store::Impl::delete_range(int64_t first, int64_t last, uint64_t& deleted) {
  uint64_t rows = 0, bytes = 0;
  {
    ResetOnExit reset(range_size_);
    range_size_.bind_int(1, first);
    range_size_.bind_int(2, last);
    const int rc = range_size_.step();
    if (rc != SQLITE_ROW) return fail(sqlite_status(rc, wdb_.get(), "delete"), rc);
    rows = static_cast<uint64_t>(range_size_.column_int(0));
    bytes = static_cast<uint64_t>(range_size_.column_int(1));
  }
  if (rows == 0) return Status::ok();
  {
    ResetOnExit reset(delete_);
    delete_.bind_int(1, first);
    delete_.bind_int(2, last);
    const int rc = delete_.step();
    if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "delete"), rc);
  }
  bytes_stored_.fetch_sub(std::min(bytes, bytes_stored_.load(std::memory_order_relaxed)),
                          std::memory_order_relaxed);
  rows_stored_.fetch_sub(std::min(rows, rows_stored_.load(std::memory_order_relaxed)),
                         std::memory_order_relaxed);
  deleted += rows;
  return Status::ok();
}

Status Store::Impl::move_to_dead_letters(int64_t seq, const std::string& reason, int64_t now_ms,
                                         bool& moved) {
  moved = false;
  {
    ResetOnExit reset(dead_letter_);
    dead_letter_.bind_int(1, seq);
    dead_letter_.bind_text(2, reason);
    dead_letter_.bind_int(3, now_ms);
    const int rc = dead_letter_.step();
    if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "dead letter"), rc);
  }
  GW_RETURN_IF_ERROR(delete_row(seq, moved));
  if (moved) rows_dead_lettered_.fetch_add(1, std::memory_order_relaxed);
  return Status::ok();
}

// Deletes the lowest-priority, oldest rows of priority <= max_priority until
// `need` bytes are freed. Deletes nothing and returns false when even all of
// them would not free enough. Requires: inside the writer's transaction.
bool Store::Impl::evict(uint64_t need, int max_priority) {
  std::vector<std::string> uplinks;
  {
    ResetOnExit reset(uplinks_with_rows_);
    while (uplinks_with_rows_.step() == SQLITE_ROW) uplinks.emplace_back(uplinks_with_rows_.column_text(0));
  }
  // Per priority, each uplink offers its oldest rows until they alone would
  // free what is still needed; the oldest of all offers go first. So the
  // order is global (lowest priority, then oldest) without an index on
  // (priority, seq), which every insert and delete would pay for.
  std::vector<std::pair<int64_t, uint64_t>> victims, offers;
  uint64_t freed = 0;
  for (int priority = kMinPriority; priority <= max_priority && freed < need; ++priority) {
    offers.clear();
    for (const std::string& uplink : uplinks) {
      ResetOnExit reset(evict_scan_);
      evict_scan_.bind_text(1, uplink);
      evict_scan_.bind_int(2, priority);
      uint64_t offered = 0;
      while (freed + offered < need && evict_scan_.step() == SQLITE_ROW) {
        const auto bytes = static_cast<uint64_t>(evict_scan_.column_int(1));
        offers.emplace_back(evict_scan_.column_int(0), bytes);
        offered += bytes;
      }
    }
    std::sort(offers.begin(), offers.end());
    for (size_t i = 0; i < offers.size() && freed < need; ++i) {
      victims.push_back(offers[i]);
      freed += offers[i].second;
    }
  }
  if (freed < need) return false;
  std::vector<int64_t> seqs;
  seqs.reserve(victims.size());
  for (const auto& v : victims) seqs.push_back(v.first);
  uint64_t deleted = 0;
  const uint64_t bytes_before = bytes_stored_.load(std::memory_order_relaxed);
  if (!delete_rows(seqs, deleted).is_ok()) return false;
  rows_evicted_.fetch_add(deleted, std::memory_order_relaxed);
  bytes_evicted_.fetch_add(bytes_before - bytes_stored_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  evict_log_.warn("store: queue full; evicted {} row(s) of priority <= {} ({} bytes), {} in total",
                  victims.size(), max_priority, freed, rows_evicted_.load());
  return true;
}

// Writes an append's extras. Requires: inside the writer's transaction.
Status Store::Impl::write_extras(const AppendExtras& extras, int64_t now_ms) {
  if (extras.qos2_received) {
    ResetOnExit reset(mark_qos2_);
    mark_qos2_.bind_text(1, extras.qos2_received->client_id);
    mark_qos2_.bind_int(2, extras.qos2_received->packet_id);
    mark_qos2_.bind_int(3, now_ms);
    const int rc = mark_qos2_.step();
    if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "insert into qos2_received"), rc);
  }
  if (extras.retained) {
    const Message& m = *extras.retained;
    int rc;
    if (m.payload.empty()) {
      ResetOnExit reset(clear_retained_);
      clear_retained_.bind_text(1, m.topic);
      rc = clear_retained_.step();
    } else {
      const std::string props = m.properties.empty() ? std::string() : m.properties.encode();
      ResetOnExit reset(set_retained_);
      set_retained_.bind_text(1, m.topic);
      set_retained_.bind_blob(2, m.payload);
      set_retained_.bind_int(3, m.qos);
      if (m.properties.empty()) {
        set_retained_.bind_null(4);
      } else {
        set_retained_.bind_blob(4, props);
      }
      set_retained_.bind_text(5, m.client_id);
      set_retained_.bind_text(6, m.username);
      set_retained_.bind_int(7, m.protocol_version);
      set_retained_.bind_int(8, m.received_at_ms);
      rc = set_retained_.step();
    }
    if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "write retained"), rc);
  }
  return Status::ok();
}

// Inserts pending_rows_ (at most kInsertRows) with one statement; sets
// first_seq if this is the group's first insert. Requires: inside the
// writer's transaction. AUTOINCREMENT gives one statement's rows
// consecutive seqs, so the first is the last minus the count.
Status Store::Impl::insert_pending(int64_t& first_seq) {
  const size_t n = pending_rows_.size();
  if (n == 0) return Status::ok();
  Stmt& st = inserts_[n - 1];
  for (size_t r = 0; r < n; ++r) {
    const NewRow& row = *pending_rows_[r];
    const Message& m = row.message;
    const int c = static_cast<int>(r) * kInsertColumns;
    st.bind_text(c + 1, row.uplink);
    st.bind_text(c + 2, row.route);
    st.bind_int(c + 3, row.priority);
    st.bind_int(c + 4, row.expires_at_ms);
    st.bind_text(c + 5, row.cloud_topic);
    st.bind_text(c + 6, m.topic);
    st.bind_blob(c + 7, m.payload);
    st.bind_int(c + 8, m.qos);
    st.bind_int(c + 9, m.retain ? 1 : 0);
    if (m.properties.empty()) {
      st.bind_null(c + 10);
    } else {
      insert_props_[r] = m.properties.encode();
      st.bind_blob(c + 10, insert_props_[r]);
    }
    st.bind_text(c + 11, m.client_id);
    st.bind_text(c + 12, m.username);
    st.bind_int(c + 13, m.protocol_version);
    st.bind_int(c + 14, m.received_at_ms);
  }
  const int rc = st.step();
  st.reset();
  pending_rows_.clear();
  if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "insert"), rc);
  if (first_seq == 0) {
    first_seq = sqlite3_last_insert_rowid(wdb_.get()) - static_cast<int64_t>(n) + 1;
  }
  return Status::ok();
}

Status Store::Impl::commit_group(std::vector<Op>& group, std::vector<std::string_view>& touched,
                                 int64_t& first_seq) {
  if (!writable()) return health();
  check_disk(/*force=*/false);
  const SteadyTime t0 = std::chrono::steady_clock::now();
  uint64_t appends = 0, rows = 0, deleted = 0;
  // Totals move as rows are inserted and deleted; restored if the transaction fails.
  const uint64_t rows_before = rows_stored_.load(std::memory_order_relaxed);
  const uint64_t bytes_before = bytes_stored_.load(std::memory_order_relaxed);
  const uint64_t dead_before = rows_dead_lettered_.load(std::memory_order_relaxed);
  const uint64_t evicted_before = rows_evicted_.load(std::memory_order_relaxed);
  const uint64_t evicted_bytes_before = bytes_evicted_.load(std::memory_order_relaxed);
  auto failed = [&](Status s) {
    rows_stored_.store(rows_before, std::memory_order_relaxed);
    bytes_stored_.store(bytes_before, std::memory_order_relaxed);
    rows_dead_lettered_.store(dead_before, std::memory_order_relaxed);
    rows_evicted_.store(evicted_before, std::memory_order_relaxed);
    bytes_evicted_.store(evicted_bytes_before, std::memory_order_relaxed);
    return s;
  };

  int rc = begin_.step();
  begin_.reset();
  if (rc != SQLITE_DONE) return failed(fail(sqlite_status(rc, wdb_.get(), "BEGIN"), rc));

  const uint64_t limit = cap();
  const int64_t now_ms = clock_.wall_ms();
  pending_rows_.clear();
  for (Op& op : group) {
    if (op.kind == Op::Kind::kAppend) {
      const uint64_t stored = bytes_stored_.load(std::memory_order_relaxed);
      if (op.bytes > 0 && stored + op.bytes > limit) {
        int max_priority = 0;
        for (const NewRow& row : op.rows) max_priority = std::max(max_priority, row.priority);
        // Eviction sees only inserted rows.
        if (Status s = insert_pending(first_seq); !s.is_ok()) return failed(s);
        const bool room = op.bytes <= limit && options_.on_full == FullPolicy::kEvict &&
                          evict(stored + op.bytes - limit, max_priority);
        if (failed_.load(std::memory_order_relaxed)) return failed(health());
        if (!room) {
          full_rejects_.fetch_add(1, std::memory_order_relaxed);
          op.result = resource_exhausted("store: queue full (" + std::to_string(stored) + " of " +
                                         std::to_string(limit) +
                                         " bytes) and nothing of lower or equal priority to evict");
          full_log_.warn("{}", op.result.message());
          continue;
        }
      }
      ++appends;
      for (const NewRow& row : op.rows) {
        pending_rows_.push_back(&row);
        if (pending_rows_.size() == kInsertRows) {
          if (Status s = insert_pending(first_seq); !s.is_ok()) return failed(s);
        }
        ++rows;
        if (std::find(touched.begin(), touched.end(), row.uplink) == touched.end()) {
          touched.push_back(row.uplink);
        }
      }
      rows_stored_.fetch_add(op.rows.size(), std::memory_order_relaxed);
      bytes_stored_.fetch_add(op.bytes, std::memory_order_relaxed);
      if (Status s = write_extras(op.extras, now_ms); !s.is_ok()) return failed(s);
    } else if (op.kind == Op::Kind::kPutRetained) {
      if (Status s = write_extras(op.extras, now_ms); !s.is_ok()) return failed(s);
    } else if (op.kind == Op::Kind::kReleaseQos2 || op.kind == Op::Kind::kDropQos2) {
      Stmt& st = op.kind == Op::Kind::kReleaseQos2 ? release_qos2_ : drop_qos2_;
      ResetOnExit reset(st);
      st.bind_text(1, op.marker.client_id);
      if (op.kind == Op::Kind::kReleaseQos2) st.bind_int(2, op.marker.packet_id);
      rc = st.step();
      if (rc != SQLITE_DONE) {
        return failed(fail(sqlite_status(rc, wdb_.get(), "delete from qos2_received"), rc));
      }
    } else if (op.kind == Op::Kind::kAck) {
      if (Status s = delete_rows(op.seqs, deleted); !s.is_ok()) return failed(s);
      upsert_batch_.bind_text(1, op.uplink);
      upsert_batch_.bind_int(2, static_cast<int64_t>(op.batch_seq));
      rc = upsert_batch_.step();
      upsert_batch_.reset();
      if (rc != SQLITE_DONE) {
        return failed(fail(sqlite_status(rc, wdb_.get(), "update uplink_state"), rc));
      }
    } else if (op.kind == Op::Kind::kDeadLetter) {
      for (int64_t seq : op.seqs) {
        bool moved = false;
        if (Status s = move_to_dead_letters(seq, op.reason, now_ms, moved); !s.is_ok()) {
          return failed(s);
        }
      }
    }
  }

  if (Status s = insert_pending(first_seq); !s.is_ok()) return failed(s);
  rc = commit_.step();
  commit_.reset();
  if (rc != SQLITE_DONE) return failed(fail(sqlite_status(rc, wdb_.get(), "COMMIT"), rc));
  ++commit_number_;
  after_commit_ok();

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
  int cur = 0, high = 0;
  if (sqlite3_db_status(wdb_.get(), SQLITE_DBSTATUS_CACHE_WRITE, &cur, &high, 1) == SQLITE_OK) {
    // WAL frames: a 24-byte header per page.
    sqlite_bytes_.fetch_add(static_cast<uint64_t>(cur) * static_cast<uint64_t>(page_size_ + 24),
                            std::memory_order_relaxed);
  }
  return Status::ok();
}

// Moves (or drops) rows past their expiry, kSweepBatch per transaction.
Status Store::Impl::sweep_expired() {
  const int64_t now_ms = clock_.wall_ms();
  for (;;) {
    std::vector<int64_t> seqs;
    {
      ResetOnExit reset(expired_);
      expired_.bind_int(1, now_ms);
      expired_.bind_int(2, kSweepBatch);
      int rc;
      while ((rc = expired_.step()) == SQLITE_ROW) seqs.push_back(expired_.column_int(0));
      if (rc != SQLITE_DONE) return sqlite_status(rc, wdb_.get(), "TTL sweep");
    }
    if (seqs.empty()) return Status::ok();
    const uint64_t rows_before = rows_stored_.load(std::memory_order_relaxed);
    const uint64_t bytes_before = bytes_stored_.load(std::memory_order_relaxed);
    const uint64_t dead_before = rows_dead_lettered_.load(std::memory_order_relaxed);
    auto restore = [&](Status s) {
      rows_stored_.store(rows_before, std::memory_order_relaxed);
      bytes_stored_.store(bytes_before, std::memory_order_relaxed);
      rows_dead_lettered_.store(dead_before, std::memory_order_relaxed);
      return s;
    };
    int rc = begin_.step();
    begin_.reset();
    if (rc != SQLITE_DONE) return fail(sqlite_status(rc, wdb_.get(), "BEGIN (TTL sweep)"), rc);
    uint64_t removed = 0;
    for (int64_t seq : seqs) {
      bool gone = false;
      Status s = options_.on_expiry == ExpiryPolicy::kDeadLetter
                     ? move_to_dead_letters(seq, "expired", now_ms, gone)
                     : delete_row(seq, gone);
      if (!s.is_ok()) return restore(s);
      removed += gone ? 1 : 0;
    }
    rc = commit_.step();
    commit_.reset();
    if (rc != SQLITE_DONE) {
      return restore(fail(sqlite_status(rc, wdb_.get(), "COMMIT (TTL sweep)"), rc));
    }
    ++commit_number_;
    after_commit_ok();
    {
      std::lock_guard lk(state_mu_);
      committed_number_ = commit_number_;
    }
    rows_expired_.fetch_add(removed, std::memory_order_relaxed);
    expire_log_.warn("store: {} expired row(s) {} ({} in total)", removed,
                     options_.on_expiry == ExpiryPolicy::kDeadLetter ? "moved to dead letters"
                                                                     : "dropped",
                     rows_expired_.load());
    if (static_cast<int64_t>(seqs.size()) < kSweepBatch) return Status::ok();
  }
}

UplinkState& Store::Impl::state_for(std::string_view uplink) {
  auto it = uplinks_.find(uplink);
  if (it == uplinks_.end()) it = uplinks_.emplace(std::string(uplink), UplinkState{}).first;
  return it->second;
}

// ---- readers -------------------------------------------------------------------

Result<std::vector<StoredRow>> Store::Impl::lease(std::string_view uplink, size_t max_rows,
                                                  size_t max_bytes) {
  std::vector<StoredRow> out;
  if (max_rows == 0) return out;
  std::lock_guard rl(read_mu_);
  // One read snapshot for the scans and fetches of this lease (prepared
  // BEGIN and COMMIT: sqlite3_exec would parse them at every lease).
  {
    ResetOnExit reset(read_begin_);
    const int rc = read_begin_.step();
    if (rc != SQLITE_DONE) return sqlite_status(rc, rdb_.get(), "store: lease");
  }
  struct EndRead {
    Stmt& end;
    ~EndRead() {
      (void)end.step();
      end.reset();
    }
  } end_read{read_end_};
  UplinkState* st;
  int64_t live_from = kMaxSeq;  // live_first: first seq committed within live_window
  const auto replay = options_.replay.find(uplink);
  const bool live_first = replay != options_.replay.end() && replay->second == Replay::kLiveFirst;
  size_t n_low = 0;
  std::array<int64_t, kMaxPriority + 1> floor{};   // the scan floors when this lease started
  std::array<int64_t, kMaxPriority + 1> raised{};  // what the scans showed they may rise to
  uint64_t releases = 0;
  {
    std::lock_guard lk(state_mu_);
    st = &state_for(uplink);
    floor = raised = st->scan_floor;
    releases = st->releases;
    st->seen_generation = st->generation;
    // Our read snapshot starts below, after every commit up to
    // committed_number_: rows those commits deleted are invisible to it.
    while (!st->deleted_by_commit.empty() &&
           st->deleted_by_commit.front().first <= committed_number_) {
      for (int64_t seq : st->deleted_by_commit.front().second) st->deleted.erase(seq);
      st->deleted_by_commit.pop_front();
    }
    if (live_first) {
      const SteadyTime since = clock_.now() - options_.live_window;
      while (!live_marks_.empty() && live_marks_.front().first < since) live_marks_.pop_front();
      if (!live_marks_.empty()) live_from = live_marks_.front().second;
    }
    st->share_credit += static_cast<double>(max_rows) * options_.lower_priority_share;
    n_low = std::min(max_rows, static_cast<size_t>(std::floor(st->share_credit)));
  }
  auto skipped = [&](int64_t seq) {
    std::lock_guard lk(state_mu_);
    return st->leased.count(seq) != 0 || st->deleted.count(seq) != 0;
  };
  std::vector<std::pair<int, int64_t>> candidates;  // every unleased row a scan passed
  // Appends up to `limit` unleased seqs of `priority` in [from, to) to `into`.
  auto scan = [&](int priority, int64_t from, int64_t to, size_t limit,
                  std::vector<std::pair<int, int64_t>>& into) -> Status {
    const auto p = static_cast<size_t>(priority);
    // From the floor on, every row this scan passes is leased, deleted or
    // about to be leased (chosen): the floor may rise past the last one.
    const bool from_floor = from <= floor[p];
    ResetOnExit reset(scan_);
    scan_.bind_text(1, uplink);
    scan_.bind_int(2, priority);
    scan_.bind_int(3, std::max(from, floor[p]));
    scan_.bind_int(4, to);
    int rc;
    while (into.size() < limit && (rc = scan_.step()) == SQLITE_ROW) {
      const int64_t seq = scan_.column_int(0);
      if (!skipped(seq)) {
        into.emplace_back(priority, seq);
        candidates.emplace_back(priority, seq);
      }
      if (from_floor) raised[p] = std::max(raised[p], seq + 1);
    }
    if (into.size() < limit && rc != SQLITE_DONE) {
      return sqlite_status(rc, rdb_.get(), "store: lease");
    }
    return Status::ok();
  };

  // The main part, in lease order.
  std::vector<std::pair<int, int64_t>> main;
  for (int pass = 0; pass < (live_first ? 2 : 1); ++pass) {
    const int64_t from = live_first && pass == 0 ? live_from : 0;
    const int64_t to = live_first && pass == 1 ? live_from : kMaxSeq;
    for (int p = 9; p >= 0 && main.size() < max_rows; --p) {
      GW_RETURN_IF_ERROR(scan(p, from, to, max_rows, main));
    }
  }
  // The lower-priority share: the oldest rows below every priority in main.
  std::vector<std::pair<int, int64_t>> low;
  if (n_low > 0 && !main.empty()) {
    int min_priority = 9;
    for (const auto& [p, seq] : main) min_priority = std::min(min_priority, p);
    for (int q = min_priority - 1; q >= 0; --q) {
      std::vector<std::pair<int, int64_t>> some;
      GW_RETURN_IF_ERROR(scan(q, 0, kMaxSeq, n_low, some));
      low.insert(low.end(), some.begin(), some.end());
    }
    std::sort(low.begin(), low.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    if (low.size() > n_low) low.resize(n_low);
  }
  {
    std::lock_guard lk(state_mu_);
    if (low.size() < n_low) {
      st->share_credit -= std::floor(st->share_credit);  // nothing lower is waiting
    } else {
      st->share_credit -= static_cast<double>(low.size());
    }
  }
  if (main.size() + low.size() > max_rows) main.resize(max_rows - low.size());

  // Fetch the share first, so a byte limit cannot squeeze it out.
  std::vector<int64_t> chosen;
  for (const auto& [p, seq] : low) chosen.push_back(seq);
  for (const auto& [p, seq] : main) chosen.push_back(seq);
  const int64_t now_ms = clock_.wall_ms();
  std::vector<int64_t> undecodable;
  std::string why;
  size_t bytes = 0;
  size_t fetched = 0;  // chosen[0, fetched) were read (leased, expired or undecodable)
  bool over = false;
  for (size_t i = 0; i < chosen.size() && !over;) {
    size_t j = i + 1;
    while (j < chosen.size() && chosen[j] == chosen[j - 1] + 1) ++j;
    ResetOnExit fetch_reset(fetch_);
    fetch_.bind_int(1, chosen[i]);
    fetch_.bind_int(2, chosen[j - 1]);
    int frc;
    while ((frc = fetch_.step()) == SQLITE_ROW) {
      const int64_t seq = fetch_.column_int(14);
      const int64_t expires_at_ms = fetch_.column_int(3);
      if (expires_at_ms > 0 && expires_at_ms <= now_ms) continue;  // the next sweep takes it
      std::string_view payload = fetch_.column_blob(6);
      if (!out.empty() && bytes + payload.size() > max_bytes) {
        over = true;
        fetched = i + static_cast<size_t>(seq - chosen[i]);
        break;
      }

      StoredRow row;
      row.seq = seq;
      row.uplink = fetch_.column_text(0);
      row.route = fetch_.column_text(1);
      row.priority = static_cast<int>(fetch_.column_int(2));
      row.expires_at_ms = expires_at_ms;
      row.cloud_topic = fetch_.column_text(4);
      Message& m = row.message;
      m.topic = fetch_.column_text(5);
      m.payload = payload;
      m.qos = static_cast<uint8_t>(fetch_.column_int(7));
      m.retain = fetch_.column_int(8) != 0;
      if (!fetch_.column_is_null(9)) {
        auto props = MessageProperties::decode(fetch_.column_blob(9));
        if (!props.is_ok()) {
          // Never block the uplink on one bad row: it goes to the dead letters.
          undecodable.push_back(seq);
          why = props.status().message();
          continue;
        }
        m.properties = std::move(props.value());
      }
      m.client_id = fetch_.column_text(10);
      m.username = fetch_.column_text(11);
      m.protocol_version = static_cast<uint8_t>(fetch_.column_int(12));
      m.received_at_ms = fetch_.column_int(13);
      bytes += payload.size();
      out.push_back(std::move(row));
    }
    if (!over && frc != SQLITE_DONE) return sqlite_status(frc, rdb_.get(), "store: lease");
    if (!over) fetched = j;
    i = j;
  }
  // Rows the scans passed but this lease does not take (over max_rows, the
  // share's limit or the byte limit) stay leasable: the floors go back
  // below them.
  chosen.resize(fetched);
  std::sort(chosen.begin(), chosen.end());
  for (const auto& [p, seq] : candidates) {
    if (!std::binary_search(chosen.begin(), chosen.end(), seq)) {
      int64_t& r = raised[static_cast<size_t>(p)];
      r = std::min(r, seq);
    }
  }
  std::sort(out.begin(), out.end(), [](const StoredRow& a, const StoredRow& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.seq < b.seq;
  });
  {
    std::lock_guard lk(state_mu_);
    for (const StoredRow& row : out) st->leased.insert(row.seq);
    // A release since this lease began may have put rows back below what
    // the scans saw: then keep the floors as they are now.
    if (st->releases == releases) {
      for (size_t p = 0; p < raised.size(); ++p) st->scan_floor[p] = std::max(st->scan_floor[p], raised[p]);
    }
  }
  if (!undecodable.empty()) {
    logger().error("store: {} row(s) of uplink {} have undecodable properties ({}); moved to the "
                  "dead letters",
                  undecodable.size(), uplink, why);
    dead_letter(uplink, std::move(undecodable), "undecodable: " + why, {});
  }
  return out;
}

void Store::Impl::release(std::string_view uplink, const std::vector<int64_t>& seqs) {
  release_seqs(std::string(uplink), seqs);
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

Result<std::vector<PriorityDepth>> Store::Impl::depth(std::string_view uplink) {
  std::lock_guard rl(read_mu_);
  std::vector<PriorityDepth> out;
  std::vector<int64_t> oldest_seqs;
  {
    ResetOnExit reset(depth_);
    depth_.bind_text(1, uplink);
    int rc;
    while ((rc = depth_.step()) == SQLITE_ROW) {
      out.push_back({static_cast<int>(depth_.column_int(0)), depth_.column_int(1), 0});
      oldest_seqs.push_back(depth_.column_int(2));
    }
    if (rc != SQLITE_DONE) return sqlite_status(rc, rdb_.get(), "store: depth");
  }
  for (size_t i = 0; i < out.size(); ++i) {
    ResetOnExit reset(received_at_);
    received_at_.bind_int(1, oldest_seqs[i]);
    const int rc = received_at_.step();
    if (rc == SQLITE_ROW) {
      out[i].oldest_received_at_ms = received_at_.column_int(0);
    } else if (rc != SQLITE_DONE) {
      return sqlite_status(rc, rdb_.get(), "store: depth");
    }
  }
  return out;
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
  s.rows_stored = rows_stored_.load(r);
  s.bytes_stored = bytes_stored_.load(r);
  s.full_rejects = full_rejects_.load(r);
  s.rows_evicted = rows_evicted_.load(r);
  s.bytes_evicted = bytes_evicted_.load(r);
  s.disk_low = disk_low_.load(r);
  s.rows_expired = rows_expired_.load(r);
  s.rows_dead_lettered = rows_dead_lettered_.load(r);
  s.recoveries = recoveries_.load(r);
  s.moved_aside = moved_aside_.load(r);
  s.sqlite_bytes_written = sqlite_bytes_.load(r) + checkpoint_bytes_.load(r);
  s.disk_write_bytes = disk_write_bytes_.load(r);
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

Status Store::append(std::vector<NewRow> rows, Completion done, AppendExtras extras) {
  return impl_->append(std::move(rows), std::move(done), std::move(extras));
}
void Store::release_qos2(std::string client_id, uint16_t packet_id, Completion done) {
  impl_->release_qos2(std::move(client_id), packet_id, std::move(done));
}
void Store::drop_qos2(std::string client_id, Completion done) {
  impl_->drop_qos2(std::move(client_id), std::move(done));
}
Result<std::map<std::string, std::vector<uint16_t>, std::less<>>> Store::qos2_received() {
  return impl_->qos2_received();
}
void Store::put_retained(Message msg, Completion done) { impl_->put_retained(std::move(msg), std::move(done)); }
Result<std::vector<Message>> Store::retained_messages() { return impl_->retained_messages(); }
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
void Store::dead_letter(std::string_view uplink, std::vector<int64_t> seqs, std::string reason,
                        Completion done) {
  impl_->dead_letter(uplink, std::move(seqs), std::move(reason), std::move(done));
}
void Store::expire_now() { impl_->expire_now(); }
void Store::wait_for_rows(std::string_view uplink, std::chrono::milliseconds timeout) {
  impl_->wait_for_rows(uplink, timeout);
}
uint64_t Store::last_batch_seq(std::string_view uplink) { return impl_->last_batch_seq(uplink); }
Result<int64_t> Store::count(std::string_view uplink) { return impl_->count(uplink); }
Result<std::vector<PriorityDepth>> Store::depth(std::string_view uplink) { return impl_->depth(uplink); }
void Store::flush() { impl_->flush(); }
Status Store::health() const { return impl_->health(); }
StoreStats Store::stats() const { return impl_->stats(); }

}  // namespace gw::store
