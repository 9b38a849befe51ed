// Schema creation and migrations of the queue database (gateway/store/SCHEMA.md).
// Called once by Store::open() on the writer connection, before any thread starts.
#pragma once

#include "gateway/core/status.h"
#include "gateway/store/internal/sqlite.h"

namespace gw::store::internal {

// The version this build writes (PRAGMA user_version).
inline constexpr int kSchemaVersion = 5;

// Brings the database to kSchemaVersion: creates the tables in an empty file,
// runs each migration step from the stored version in its own transaction.
// Errors: kUnavailable for a database newer than this build, or SQLite's.
Status migrate(Db& db);

}  // namespace gw::store::internal
