// Thin RAII wrappers over the SQLite C API, private to gw::store.
// A Db or Stmt has no locking of its own: each is used by one thread at a
// time (the writer's connection by the writer thread, the read connection
// under Store's read mutex). Connections are opened SQLITE_OPEN_NOMUTEX.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace gw::store::internal {

// Whether an error from a write may go away by itself (disk full, I/O error,
// busy), so the writer retries after a back-off. Corruption, a failed fsync
// (the kernel may have dropped the dirty pages) and logic errors may not.
bool is_retryable(int rc);

// Maps an SQLite result code to a Status: corruption and "not a database"
// become kDataLoss, a full disk kResourceExhausted, the rest kUnavailable or
// kInternal. `what` says what was being done.
Status sqlite_status(int rc, sqlite3* db, std::string_view what);

class Db {
 public:
  Db() = default;
  ~Db();
  Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens `path` (read-write, created when `create`; read-only when
  // `read_only`) through `vfs` (nullptr: SQLite's default). Errors:
  // kNotFound (read-only and missing), kUnavailable, kDataLoss.
  static Result<Db> open(const std::string& path, bool create, bool read_only = false, const char* vfs = nullptr);

  // Runs one or more statements without results.
  Status exec(const char* sql);
  // Runs a statement returning one row of one column (e.g. a PRAGMA).
  Result<std::string> query_text(const char* sql);
  Result<int64_t> query_int(const char* sql);

  sqlite3* get() const { return db_; }
  void close();

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// A prepared statement, reset (and its bindings cleared) by Reset after use.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt();
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_), db_(other.db_) { other.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Prepares `sql` for repeated use (SQLITE_PREPARE_PERSISTENT).
  static Result<Stmt> prepare(const Db& db, const char* sql);

  // Bindings are 1-based. Text and blobs are bound without a copy
  // (SQLITE_STATIC): the caller keeps them alive until reset().
  void bind_int(int i, int64_t v);
  void bind_text(int i, std::string_view v);
  void bind_blob(int i, std::string_view v);  // empty binds a zero-length blob
  void bind_null(int i);

  // Returns SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  void reset();  // reset + clear bindings

  int64_t column_int(int i) const;
  std::string_view column_text(int i) const;  // valid until the next step/reset
  std::string_view column_blob(int i) const;
  bool column_is_null(int i) const;

  sqlite3* db() const { return db_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

// Resets a statement at the end of a scope, so early returns leave it reusable.
class ResetOnExit {
 public:
  explicit ResetOnExit(Stmt& s) : s_(s) {}
  ~ResetOnExit() { s_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Stmt& s_;
};

}  // namespace gw::store::internal
