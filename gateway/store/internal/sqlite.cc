#include "gateway/store/internal/sqlite.h"

#include <sqlite3.h>

#include <utility>

namespace gw::store::internal {

Status sqlite_status(int rc, sqlite3* db, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return data_loss(std::move(msg));
    case SQLITE_FULL:
      return resource_exhausted(std::move(msg));
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
      return unavailable(std::move(msg));
    default:
      return internal_error(std::move(msg));
  }
}

bool is_retryable(int rc) {
  if (rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_DIR_FSYNC) return false;
  switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
      return true;
    default:
      return false;
  }
}

Db::~Db() { close(); }

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

void Db::close() {
  if (db_ != nullptr) {
    // All statements are finalized by their owners first (Store orders its
    // members so); close_v2 would otherwise defer the close.
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

Result<Db> Db::open(const std::string& path, bool create, bool read_only, const char* vfs) {
  // SQLite's memory statistics take a process-wide mutex around every
  // allocation; nothing here reads them, and on the store writer's hot path
  // they cost ~5% of its CPU. Must precede sqlite3_initialize, so the first
  // open does it; if something initialised SQLite earlier the call fails
  // harmlessly and the statistics stay on.
  static const bool configured [[maybe_unused]] = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  sqlite3* raw = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX |
              (create && !read_only ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  Db db(raw);  // owns raw even on failure (sqlite3_open_v2 may allocate it)
  if (rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_CANTOPEN && !create) return not_found("cannot open " + path);
    return sqlite_status(rc, raw, "cannot open " + path);
  }
  sqlite3_extended_result_codes(raw, 1);
  // The writer may wait briefly for an external tool (edge-gateway queue ...).
  sqlite3_busy_timeout(raw, 5000);
  // Debian builds SQLite with secure_delete on, which zeroes every page a
  // delete frees and writes it again; a queue deletes every row it stores.
  // FAST zeroes deleted cells only on pages written anyway (SCHEMA.md, Flash wear).
  if (!read_only) {
    if (Status s = db.exec("PRAGMA secure_delete = FAST"); !s.is_ok()) return s.with_context(path);
  }
  return db;
}

Status Db::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = std::string(sql) + ": " + (err != nullptr ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return sqlite_status(rc, nullptr, msg);
  }
  return Status::ok();
}

Result<std::string> Db::query_text(const char* sql) {
  auto stmt = Stmt::prepare(*this, sql);
  if (!stmt.is_ok()) return stmt.status();
  int rc = stmt->step();
  if (rc == SQLITE_ROW) return std::string(stmt->column_text(0));
  if (rc == SQLITE_DONE) return std::string();
  return sqlite_status(rc, db_, sql);
}

Result<int64_t> Db::query_int(const char* sql) {
  auto stmt = Stmt::prepare(*this, sql);
  if (!stmt.is_ok()) return stmt.status();
  int rc = stmt->step();
  if (rc == SQLITE_ROW) return stmt->column_int(0);
  if (rc == SQLITE_DONE) return int64_t{0};
  return sqlite_status(rc, db_, sql);
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
  }
  return *this;
}

Result<Stmt> Stmt::prepare(const Db& db, const char* sql) {
  Stmt s;
  s.db_ = db.get();
  int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s.stmt_, nullptr);
  if (rc != SQLITE_OK) return sqlite_status(rc, db.get(), std::string("prepare ") + sql);
  return s;
}

void Stmt::bind_int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }

void Stmt::bind_text(int i, std::string_view v) {
  sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
}

void Stmt::bind_blob(int i, std::string_view v) {
  if (v.empty()) {
    sqlite3_bind_zeroblob(stmt_, i, 0);
  } else {
    sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_STATIC);
  }
}

void Stmt::bind_null(int i) { sqlite3_bind_null(stmt_, i); }

int Stmt::step() { return sqlite3_step(stmt_); }

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Stmt::column_int(int i) const { return sqlite3_column_int64(stmt_, i); }

std::string_view Stmt::column_text(int i) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, i))};
}

std::string_view Stmt::column_blob(int i) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, i))};
}

bool Stmt::column_is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

}  // namespace gw::store::internal
