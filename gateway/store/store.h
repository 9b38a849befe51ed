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
#include <memory>
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

struct StoreOptions {
  std::string path;                                  // database file; its folder is created
  Durability durability = Durability::kFsync;
  size_t group_max_messages = 1000;                  // a group commits at this many appends...
  std::chrono::milliseconds group_window{2};         // ...or this long after its first append
                                                     // (real steady time, not the injected Clock:
                                                     // the writer sleeps on it)
  size_t max_pending = 50000;                        // appends waiting for the writer
  bool quick_check = true;                           // PRAGMA quick_check on open (O(size))
};

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
};

// One delivery of one message to one uplink: one row.
struct NewRow {
  std::string uplink;
  std::string route;
  int priority = 0;           // 0..9, higher leaves first
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
  // max_pending appends are already waiting (backpressure), or the sticky
  // error after a failed commit.
  Status append(std::vector<NewRow> rows, Completion done);

  // Leases the next rows of `uplink` not already leased: highest priority
  // first, oldest first within a priority, at most `max_rows` rows and
  // `max_bytes` of payload (always at least one row when any is available).
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

  // The last batch sequence acknowledged for `uplink` (0 if none).
  uint64_t last_batch_seq(std::string_view uplink);

  // Rows currently stored for `uplink` (leased or not). For stats and tests.
  Result<int64_t> count(std::string_view uplink);

  // Blocks until everything appended or acked before the call is committed
  // (or failed: check health()). Closes the current group at once. Must not be
  // called from a completion (it runs on the writer thread).
  void flush();

  // OK, or the sticky error that stopped acknowledgements.
  Status health() const;

  // Counters since open(). Thread-safe, never blocks.
  StoreStats stats() const;

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gw::store
