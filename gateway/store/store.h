// Store: the durable store-and-forward queue (SQLite, WAL). Devices are
// acknowledged only after the transaction holding their message committed;
// rows leave only when an uplink acknowledges them (DESIGN.md, guarantees).
//
// Threads: one writer thread owned by the Store does every write (appends in
// groups, deletes on ack). append()/ack() are thread-safe and never block;
// lease()/release()/wait_for_rows() are thread-safe and are called from the
// uplink engine threads. Schema: gateway/store/SCHEMA.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/clock.h"
#include "gateway/core/message.h"
#include "gateway/core/status.h"

namespace gw::store {

enum class Durability {
  kFsync,  // synchronous=FULL: an acknowledged message survives power loss (default)
  kOs,     // synchronous=NORMAL: survives a process crash
};

// What a full store does with a new message (store.on_full).
enum class FullPolicy {
  kReject,  // refuse it: append() answers kResourceExhausted (MQTT 5: 0x97)
  kEvict,   // delete the lowest-priority, oldest rows to make room; never a row of a
            // higher priority than the new one (then the new one is refused instead)
};

// What happens to a row past its expires_at_ms (store.on_expiry).
enum class ExpiryPolicy { kDeadLetter, kDrop };

// The order an uplink's rows are leased in (uplinks[].replay). See lease().
enum class Replay { kOldestFirst, kLiveFirst };

struct StoreOptions {
  std::string path;                                  // database file; its folder is created
  Durability durability = Durability::kFsync;
  size_t group_max_messages = 1000;                  // a group commits at this many appends...
  std::chrono::milliseconds group_window{0};         // ...or this long after its first append (0: as soon as the writer is free)
                                                     // (real steady time, not the injected Clock:
                                                     // the writer sleeps on it)
  size_t max_pending = 50000;                        // appends waiting for the writer
  bool quick_check = true;                           // PRAGMA quick_check on open (O(size))
  // A file that is not a database or fails quick_check is renamed to
  // <path>.damaged-<UTC time> (with its -wal and -shm) and a fresh database is
  // started; false: open() fails with kDataLoss instead.
  bool move_damaged_aside = true;
  std::vector<int> cpus;  // the writer thread's CPUs (gateway.cpu_affinity.store); empty: not pinned

  // Caps. Accounted bytes of a row: payload + topic + cloud topic + encoded
  // properties + kRowOverheadBytes (SCHEMA.md, "Caps"). 0 = no cap.
  uint64_t max_bytes = 0;
  // Stop growing the database while the filesystem holding it has less than
  // this free: the cap is then frozen at the bytes stored when it went low
  // (rows freed by acks can be reused, the file cannot grow). 0 = no check.
  uint64_t min_free_disk = 0;
  FullPolicy on_full = FullPolicy::kReject;

  // TTL: the writer sweeps expired rows every sweep_interval (real time; the
  // expiry itself compares the injected Clock's wall time).
  ExpiryPolicy on_expiry = ExpiryPolicy::kDeadLetter;
  std::chrono::milliseconds sweep_interval{1000};

  // Share of each lease that goes to the oldest rows of priorities below the
  // ones leased first, so low priorities never starve (0..1, default 20%).
  double lower_priority_share = 0.2;
  // Replay order per uplink name; an uplink not listed is kOldestFirst.
  std::map<std::string, Replay, std::less<>> replay;
  // With kLiveFirst, rows committed within this window (the Clock's steady time) are "live".
  std::chrono::milliseconds live_window{std::chrono::seconds(30)};

  // After a disk-full or I/O error the store refuses appends, then retries
  // after a back-off that doubles from retry_initial up to retry_max.
  std::chrono::milliseconds retry_initial{200};
  std::chrono::milliseconds retry_max{std::chrono::seconds(5)};
};

// Per-row bytes added to the payload, topics and properties when accounting
// a row against max_bytes (row header, index entries, fixed columns).
inline constexpr uint64_t kRowOverheadBytes = 64;

// Counters for metrics and tests; a snapshot, read with relaxed atomics.
struct StoreStats {
  uint64_t commits = 0;             // transactions committed by the writer
  uint64_t failed_commits = 0;      // transactions that failed (the store is then in error)
  uint64_t appends = 0;             // append() calls committed
  uint64_t rows_appended = 0;       // rows inserted and committed
  uint64_t rows_deleted = 0;        // rows deleted by acks and committed
  uint64_t rejected_appends = 0;    // append() calls refused (backpressure or sticky error)
  uint64_t last_group_appends = 0;  // appends in the most recent committed group
  uint64_t max_group_appends = 0;   // largest group committed so far
  uint64_t commit_ns_total = 0;     // time spent in the writer's transactions (BEGIN..COMMIT)

  // Contents (accounted as for max_bytes; rebuilt on open and after another
  // process changed the file, e.g. `edge-gateway queue purge`).
  uint64_t rows_stored = 0;
  uint64_t bytes_stored = 0;
  // Caps.
  uint64_t full_rejects = 0;        // append() calls refused because the store is full
  uint64_t rows_evicted = 0;        // rows deleted by on_full: evict
  uint64_t bytes_evicted = 0;
  bool disk_low = false;            // free disk below min_free_disk at the last check
  // TTL and dead letters.
  uint64_t rows_expired = 0;        // expired rows removed (dead-lettered or dropped)
  uint64_t rows_dead_lettered = 0;  // rows moved to dead_letters (expired, undecodable, asked)
  // Errors: a retryable failure (disk full, I/O) cleared after its back-off.
  uint64_t recoveries = 0;
  bool moved_aside = false;         // open() found a damaged file and started a fresh one
  // Flash wear. sqlite_bytes_written: pages SQLite wrote to the WAL plus pages
  // checkpointed into the database file, times the page size.
  // disk_write_bytes: the writer thread's write_bytes from /proc/thread-self/io
  // (what reached the block layer; 0 on tmpfs or when unavailable).
  uint64_t sqlite_bytes_written = 0;
  uint64_t disk_write_bytes = 0;
};

// Route priorities (config validates them); eviction walks this range.
inline constexpr int kMinPriority = 0;
inline constexpr int kMaxPriority = 9;

// One delivery of one message to one uplink: one row.
struct NewRow {
  std::string uplink;
  std::string route;
  int priority = 0;           // kMinPriority..kMaxPriority, higher leaves first
  int64_t expires_at_ms = 0;  // wall-clock ms; 0 = never
  std::string cloud_topic;    // route's rewritten topic; empty = none
  Message message;
};

struct StoredRow {
  int64_t seq = 0;  // gateway sequence: unique, increasing, never reused
  std::string uplink;
  std::string route;
  int priority = 0;
  int64_t expires_at_ms = 0;
  std::string cloud_topic;
  Message message;
};

// The rows of one uplink at one priority (leased or not) and when the oldest
// of them was received: what /metrics reports as queue depth and age.
struct PriorityDepth {
  int priority = 0;
  int64_t rows = 0;
  int64_t oldest_received_at_ms = 0;  // wall-clock ms of the lowest seq
};

// An inbound QoS 2 PUBLISH the broker answered with PUBREC (MQTT 5.0
// §4.3.3): (client id, packet id) until its PUBREL. Table qos2_received.
struct Qos2Marker {
  std::string client_id;
  uint16_t packet_id = 0;
  bool operator==(const Qos2Marker&) const = default;
};

// What an append writes besides its rows, in the same transaction (issue 3).
struct AppendExtras {
  // Record (client id, packet id) as received (replacing an older record).
  std::optional<Qos2Marker> qos2_received;
  // The retained message of retained->topic: replaced by it, or deleted when
  // its payload is empty (MQTT 5.0 §3.3.1.3).
  std::optional<Message> retained;
};

class Store {
 public:
  using Completion = std::function<void(const Status&)>;

  // Opens (creating if needed) the database and starts the writer thread.
  // Errors: kUnavailable (cannot open/create), kDataLoss (damaged file).
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options, const Clock& clock);

  // Commits everything queued, then stops the writer. Blocks.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Queues the rows of one message (all its deliveries) for the writer.
  // `done` runs once, on the writer thread, after the transaction holding them
  // committed (OK) or failed; it must not block. An empty `rows` completes OK
  // with the next commit. Returns kUnavailable, without calling `done`, when
  // max_pending appends are already waiting (backpressure), kResourceExhausted
  // when the store is full (on_full: reject, or nothing it may evict), or the
  // error after a failed commit (see health()).
  // `extras` are written in the same transaction as the rows, and only when
  // the rows are (an append refused by on_full writes neither). An append
  // with no rows but extras is never refused for the caps (it stores no
  // message), only for backpressure or a failed store.
  Status append(std::vector<NewRow> rows, Completion done, AppendExtras extras = {});

  // Deletes the QoS 2 record of (client_id, packet_id) (the PUBREL came).
  // Runs on the writer like ack(); `done` runs after the commit (never
  // refused for backpressure: the queue of such ops is bounded by the
  // broker's receive maximum).
  void release_qos2(std::string client_id, uint16_t packet_id, Completion done = {});
  // Deletes every QoS 2 record of `client_id` (its session ended).
  void drop_qos2(std::string client_id, Completion done = {});
  // Every QoS 2 record on disk, by client id, packet ids ascending. Reads
  // the committed state (read connection); for startup. Blocks.
  Result<std::map<std::string, std::vector<uint16_t>, std::less<>>> qos2_received();

  // Sets (or, with an empty payload, deletes) the retained message of
  // msg.topic without a message to store, e.g. one the broker published
  // itself. Runs on the writer like ack(); `done` after the commit.
  void put_retained(Message msg, Completion done = {});
  // Every retained message on disk, by topic. Reads the committed state
  // (read connection); for startup. Blocks. Errors: SQLite's, kDataLoss
  // for undecodable properties.
  Result<std::vector<Message>> retained_messages();

  // Leases the next rows of `uplink` not already leased, at most `max_rows`
  // rows and `max_bytes` of payload (always at least one row when any is
  // available). Expired rows are never leased. Order:
  //  - oldest_first: highest priority first, oldest (lowest seq) first within
  //    a priority: FIFO per (uplink, route), across retries and restarts.
  //  - live_first: rows committed within live_window first (highest priority
  //    first, oldest first among them), then the backlog the same way. Each of
  //    the two parts is FIFO per (uplink, route); a backlog row can reach the
  //    cloud after a newer live row (consumers order by `seq`).
  // lower_priority_share of the rows (credited across calls, so small leases
  // get their share too) goes to the oldest rows of priorities below every
  // priority in the rest of the lease. Rows are returned by priority, then seq.
  // A row whose stored properties cannot be decoded is moved to the dead
  // letters (reason "undecodable") instead of being returned.
  // Leases live in memory: after a restart every row is leasable again.
  Result<std::vector<StoredRow>> lease(std::string_view uplink, size_t max_rows, size_t max_bytes);

  // The cloud acknowledged batch `batch_seq` that carried `seqs`: the writer
  // deletes those rows and records batch_seq as the uplink's last one. `done`
  // (optional) runs on the writer thread after the commit.
  void ack(std::string_view uplink, std::vector<int64_t> seqs, uint64_t batch_seq,
           Completion done = {});

  // The batch carrying `seqs` failed: the rows become leasable again, in their
  // original order.
  void release(std::string_view uplink, const std::vector<int64_t>& seqs);

  // Blocks until a row of `uplink` may be leasable (a commit added rows) or
  // `timeout` passed. Spurious wake-ups are allowed.
  void wait_for_rows(std::string_view uplink, std::chrono::milliseconds timeout);

  // Moves rows of `uplink` to the dead letters with `reason` (e.g. the cloud
  // refused them); they are no longer leased. Runs on the writer like ack().
  void dead_letter(std::string_view uplink, std::vector<int64_t> seqs, std::string reason,
                   Completion done = {});

  // Runs the TTL sweep now (normally every sweep_interval) and blocks until
  // it committed. Must not be called from a completion.
  void expire_now();

  // The last batch sequence acknowledged for `uplink` (0 if none).
  uint64_t last_batch_seq(std::string_view uplink);

  // Rows currently stored for `uplink` (leased or not). For stats and tests.
  Result<int64_t> count(std::string_view uplink);

  // Per priority of `uplink` that has rows, highest first. One covering scan
  // of the lease index plus one lookup per priority (the payloads are never
  // read). Thread-safe; blocks on the read connection. For stats.
  Result<std::vector<PriorityDepth>> depth(std::string_view uplink);

  // Blocks until everything appended or acked before the call is committed
  // (or failed: check health()). Closes the current group at once. Must not be
  // called from a completion (it runs on the writer thread).
  void flush();

  // OK, or the error that stops acknowledgements: sticky for damage
  // (kDataLoss) and internal errors, until the retry back-off for disk full
  // (kResourceExhausted) and I/O errors (kUnavailable).
  Status health() const;

  // Counters since open(). Thread-safe, never blocks.
  StoreStats stats() const;

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gw::store
