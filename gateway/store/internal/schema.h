// Schema creation and migrations of the queue database (gateway/store/SCHEMA.md).
// Called once by Store::open() on the writer connection, before any thread starts.
#pragma once

#include "gateway/core/status.h"
#include "gateway/store/internal/sqlite.h"

namespace gw::store::internal {

// Accounted bytes of a stored row (messages or dead_letters), as SQL; must
// match row_bytes() in store.cc. A macro so queries can embed it as a literal.
#define GW_ROW_BYTES_SQL                                                         \
  "(length(payload) + ifnull(length(props), 0) + length(CAST(topic AS BLOB)) + " \
  "length(CAST(cloud_topic AS BLOB)) + 64)"

// The uplinks that have queued rows, one index seek each (a skip scan over
// messages_by_uplink) instead of a scan of every row.
inline constexpr const char* kUplinksWithRowsSql =
    "WITH RECURSIVE u(name) AS (SELECT min(uplink) FROM messages UNION ALL "
    "SELECT (SELECT min(uplink) FROM messages WHERE uplink > u.name) FROM u WHERE u.name IS NOT NULL) "
    "SELECT name FROM u WHERE name IS NOT NULL";

// The version this build writes (PRAGMA user_version).
inline constexpr int kSchemaVersion = 5;

// Brings the database to kSchemaVersion: creates the tables in an empty file,
// runs each migration step from the stored version in its own transaction.
// Errors: kUnavailable for a database newer than this build, or SQLite's.
Status migrate(Db& db);

}  // namespace gw::store::internal
