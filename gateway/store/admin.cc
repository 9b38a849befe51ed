#include "gateway/store/admin.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "gateway/store/internal/schema.h"
#include "gateway/store/internal/sqlite.h"

namespace gw::store {

using internal::Db;
using internal::ResetOnExit;
using internal::sqlite_status;
using internal::Stmt;

namespace {

constexpr const char* kColumns =
    "seq, uplink, route, priority, expires_at_ms, cloud_topic, topic, payload, qos, retain, "
    "props, client_id, username, protocol_version, received_at_ms";

Result<Stmt> prepare(Db& db, const std::string& sql) { return Stmt::prepare(db, sql.c_str()); }

// One read snapshot for several statements, from begin() to destruction.
class Snapshot {
 public:
  explicit Snapshot(Db& db) : db_(db) {}
  ~Snapshot() {
    if (open_) (void)db_.exec("COMMIT");
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  Status begin() {
    GW_RETURN_IF_ERROR(db_.exec("BEGIN"));
    open_ = true;
    return Status::ok();
  }

 private:
  Db& db_;
  bool open_ = false;
};

// The row under `st` (kColumns, then reason and dead_at_ms for dead letters).
PeekedRow read_row(Stmt& st, bool dead_letter) {
  PeekedRow p;
  StoredRow& r = p.row;
  r.seq = st.column_int(0);
  r.uplink = st.column_text(1);
  r.route = st.column_text(2);
  r.priority = static_cast<int>(st.column_int(3));
  r.expires_at_ms = st.column_int(4);
  r.cloud_topic = st.column_text(5);
  Message& m = r.message;
  m.topic = st.column_text(6);
  m.payload = st.column_blob(7);
  m.qos = static_cast<uint8_t>(st.column_int(8));
  m.retain = st.column_int(9) != 0;
  if (!st.column_is_null(10)) {
    auto props = MessageProperties::decode(st.column_blob(10));
    if (props.is_ok()) {
      m.properties = std::move(props.value());
    } else {
      p.reason = "undecodable properties";
    }
  }
  m.client_id = st.column_text(11);
  m.username = st.column_text(12);
  m.protocol_version = static_cast<uint8_t>(st.column_int(13));
  m.received_at_ms = st.column_int(14);
  if (dead_letter) {
    p.reason = st.column_text(15);
    p.dead_at_ms = st.column_int(16);
  }
  return p;
}

}  // namespace

class QueueAdmin::Impl {
 public:
  Db db;
  std::string path;
  int version = 0;

  Result<std::vector<QueueGroup>> groups(const char* table) {
    std::vector<QueueGroup> out;
    auto st = prepare(db, std::string("SELECT uplink, route, priority, count(*), sum(") + GW_ROW_BYTES_SQL +
                              "), min(received_at_ms) FROM " + table +
                              " GROUP BY uplink, route, priority ORDER BY uplink, route, priority DESC");
    if (!st.is_ok()) return st.status();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
      QueueGroup g;
      g.uplink = st->column_text(0);
      g.route = st->column_text(1);
      g.priority = static_cast<int>(st->column_int(2));
      g.rows = st->column_int(3);
      g.bytes = st->column_int(4);
      g.oldest_received_at_ms = st->column_int(5);
      out.push_back(std::move(g));
    }
    if (rc != SQLITE_DONE) return sqlite_status(rc, db.get(), "queue stats");
    return out;
  }

  // Runs `sql` (binding `route` as ?1 when not empty) in one write transaction.
  Result<int64_t> change(const std::string& sql, std::string_view route) {
    GW_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
    auto st = prepare(db, sql);
    if (!st.is_ok()) {
      (void)db.exec("ROLLBACK");
      return st.status();
    }
    if (!route.empty()) st->bind_text(1, route);
    int rc = st->step();
    const int64_t n = sqlite3_changes(db.get());
    st->reset();
    if (rc != SQLITE_DONE) {
      (void)db.exec("ROLLBACK");
      return sqlite_status(rc, db.get(), "queue");
    }
    return n;
  }
};

Result<std::unique_ptr<QueueAdmin>> QueueAdmin::open(const std::string& path, bool writable) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found("no queue database at " + path);
  auto db = Db::open(path, /*create=*/false, /*read_only=*/!writable);
  if (!db.is_ok()) return db.status();
  impl->db = std::move(db.value());
  if (writable) {
    GW_RETURN_IF_ERROR(internal::migrate(impl->db).with_context(path));
  }
  auto v = impl->db.query_int("PRAGMA user_version");
  if (!v.is_ok()) return v.status().with_context(path);
  if (*v > internal::kSchemaVersion) {
    return unavailable(path + ": schema version " + std::to_string(*v) +
                       " is newer than this build supports");
  }
  impl->version = static_cast<int>(*v);
  return std::unique_ptr<QueueAdmin>(new QueueAdmin(std::move(impl)));
}

QueueAdmin::QueueAdmin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueueAdmin::~QueueAdmin() = default;

Result<QueueSummary> QueueAdmin::summary() {
  QueueSummary s;
  s.schema_version = impl_->version;
  Snapshot snapshot(impl_->db);  // one for all the numbers
  GW_RETURN_IF_ERROR(snapshot.begin());
  auto groups = impl_->groups("messages");
  if (!groups.is_ok()) return groups.status();
  s.groups = std::move(groups).value();
  for (const auto& g : s.groups) {
    s.rows += g.rows;
    s.bytes += g.bytes;
    if (s.oldest_received_at_ms == 0 || g.oldest_received_at_ms < s.oldest_received_at_ms) {
      s.oldest_received_at_ms = g.oldest_received_at_ms;
    }
  }
  if (impl_->version >= 2) {
    auto dead = impl_->groups("dead_letters");
    if (!dead.is_ok()) return dead.status();
    s.dead_groups = std::move(dead).value();
    for (const auto& g : s.dead_groups) s.dead_letters += g.rows;
  }
  std::error_code ec;
  for (const char* suffix : {"", "-wal"}) {
    const auto size = std::filesystem::file_size(impl_->path + suffix, ec);
    if (!ec) s.file_bytes += static_cast<int64_t>(size);
  }
  return s;
}

Result<std::vector<PeekedRow>> QueueAdmin::peek(std::string_view route, size_t n,
                                                bool dead_letters) {
  std::vector<PeekedRow> out;
  if (n == 0 || (dead_letters && impl_->version < 2)) return out;
  // Appends every row of `st` (?1 is bound to the route when there is one).
  auto collect = [&](Stmt& st) -> Status {
    if (!route.empty()) st.bind_text(1, route);
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back(read_row(st, dead_letters));
    st.reset();
    return rc == SQLITE_DONE ? Status::ok() : sqlite_status(rc, impl_->db.get(), "queue peek");
  };
  const std::string order = " ORDER BY priority DESC, seq LIMIT " + std::to_string(n);
  if (dead_letters) {  // few rows, no index for this order: sorted
    auto st = prepare(impl_->db, std::string("SELECT ") + kColumns + ", reason, dead_at_ms FROM dead_letters" +
                                     (route.empty() ? "" : " WHERE route = ?1") + order);
    if (!st.is_ok()) return st.status();
    GW_RETURN_IF_ERROR(collect(*st));
    return out;
  }
  // Queued rows: each uplink's come in this order from messages_by_uplink
  // (uplink, priority DESC, seq), so a peek reads about n rows per uplink
  // where one ORDER BY over the table would read and sort a day's backlog.
  Snapshot snapshot(impl_->db);  // one for all uplinks
  GW_RETURN_IF_ERROR(snapshot.begin());
  std::vector<std::string> uplinks;
  {
    auto st = prepare(impl_->db, internal::kUplinksWithRowsSql);
    if (!st.is_ok()) return st.status();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) uplinks.emplace_back(st->column_text(0));
    if (rc != SQLITE_DONE) return sqlite_status(rc, impl_->db.get(), "queue peek");
  }
  auto st = prepare(impl_->db, std::string("SELECT ") + kColumns + " FROM messages WHERE uplink = ?2" +
                                   (route.empty() ? "" : " AND route = ?1") + order);
  if (!st.is_ok()) return st.status();
  for (const std::string& uplink : uplinks) {
    st->bind_text(2, uplink);
    GW_RETURN_IF_ERROR(collect(*st));
  }
  std::sort(out.begin(), out.end(), [](const PeekedRow& a, const PeekedRow& b) {
    if (a.row.priority != b.row.priority) return a.row.priority > b.row.priority;
    return a.row.seq < b.row.seq;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

Result<int64_t> QueueAdmin::purge_route(std::string_view route) {
  if (route.empty()) return invalid_argument("purge: which route?");
  auto n = impl_->change("DELETE FROM messages WHERE route = ?1", route);
  if (n.is_ok()) GW_RETURN_IF_ERROR(impl_->db.exec("COMMIT"));
  return n;
}

Result<int64_t> QueueAdmin::purge_dead_letters(std::string_view route) {
  auto n = impl_->change(
      std::string("DELETE FROM dead_letters") + (route.empty() ? "" : " WHERE route = ?1"), route);
  if (n.is_ok()) GW_RETURN_IF_ERROR(impl_->db.exec("COMMIT"));
  return n;
}

Result<int64_t> QueueAdmin::replay_dead_letters(std::string_view route) {
  const std::string where = route.empty() ? "" : " WHERE route = ?1";
  auto n = impl_->change(
      "INSERT INTO messages (uplink, route, priority, expires_at_ms, cloud_topic, topic, payload, "
      "qos, retain, props, client_id, username, protocol_version, received_at_ms) "
      "SELECT uplink, route, priority, 0, cloud_topic, topic, payload, qos, retain, props, "
      "client_id, username, protocol_version, received_at_ms FROM dead_letters" +
          where + " ORDER BY seq",
      route);
  if (!n.is_ok()) return n;
  auto st = prepare(impl_->db, "DELETE FROM dead_letters" + where);
  if (!st.is_ok()) {
    (void)impl_->db.exec("ROLLBACK");
    return st.status();
  }
  if (!route.empty()) st->bind_text(1, route);
  const int rc = st->step();
  st->reset();
  if (rc != SQLITE_DONE) {
    (void)impl_->db.exec("ROLLBACK");
    return sqlite_status(rc, impl_->db.get(), "queue replay");
  }
  GW_RETURN_IF_ERROR(impl_->db.exec("COMMIT"));
  return n;
}

}  // namespace gw::store
