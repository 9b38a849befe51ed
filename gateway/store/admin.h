// QueueAdmin: inspection and repair of a queue database by another process
// (`edge-gateway queue ...`), also while a gateway runs on it (WAL: readers
// never block the gateway's writer; a modifying command waits up to 5 s for
// the writer's lock and commits in one short transaction). A running store
// notices such a change within its sweep interval (PRAGMA data_version) and
// recounts. Single-threaded; not used by the gateway itself.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/status.h"
#include "gateway/store/store.h"

namespace gw::store {

// Rows of one (uplink, route, priority) in the queue or the dead letters.
struct QueueGroup {
  std::string uplink;
  std::string route;
  int priority = 0;
  int64_t rows = 0;
  int64_t bytes = 0;                  // accounted as for max_bytes
  int64_t oldest_received_at_ms = 0;  // wall-clock ms; 0 when empty
};

struct QueueSummary {
  int schema_version = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
  int64_t oldest_received_at_ms = 0;
  int64_t dead_letters = 0;
  int64_t file_bytes = 0;  // database file + WAL on disk
  std::vector<QueueGroup> groups;        // by uplink, route, priority
  std::vector<QueueGroup> dead_groups;   // dead letters by uplink, route, priority
};

// A stored row and why it is dead (dead letters only).
struct PeekedRow {
  StoredRow row;
  std::string reason;   // empty for queued rows
  int64_t dead_at_ms = 0;
};

class QueueAdmin {
 public:
  // Opens an existing database. Read-only unless `writable`; a writable open
  // migrates an older schema. Errors: kNotFound (no such file), kDataLoss,
  // kUnavailable (newer schema, cannot open).
  static Result<std::unique_ptr<QueueAdmin>> open(const std::string& path, bool writable);
  ~QueueAdmin();
  QueueAdmin(const QueueAdmin&) = delete;
  QueueAdmin& operator=(const QueueAdmin&) = delete;

  Result<QueueSummary> summary();
  // The next `n` rows in lease order (priority, then seq) of `route` (all
  // routes when empty), from the queue or the dead letters.
  Result<std::vector<PeekedRow>> peek(std::string_view route, size_t n, bool dead_letters);
  // Deletes the queued rows of `route`. Returns how many.
  Result<int64_t> purge_route(std::string_view route);
  // Deletes dead letters (of `route`, all when empty). Returns how many.
  Result<int64_t> purge_dead_letters(std::string_view route);
  // Moves dead letters (of `route`, all when empty) back into the queue with
  // new sequence numbers, in their original order, without an expiry.
  Result<int64_t> replay_dead_letters(std::string_view route);

 private:
  class Impl;
  explicit QueueAdmin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gw::store
