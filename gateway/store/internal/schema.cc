#include "gateway/store/internal/schema.h"

#include <iterator>
#include <string>

namespace gw::store::internal {
namespace {

// Version 0 -> 1: the initial schema. Column meanings: SCHEMA.md.
constexpr const char* kV1 = R"sql(
CREATE TABLE messages (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  uplink           TEXT    NOT NULL,
  route            TEXT    NOT NULL,
  priority         INTEGER NOT NULL DEFAULT 0,
  expires_at_ms    INTEGER NOT NULL DEFAULT 0,
  cloud_topic      TEXT    NOT NULL DEFAULT '',
  topic            TEXT    NOT NULL,
  payload          BLOB    NOT NULL,
  qos              INTEGER NOT NULL,
  retain           INTEGER NOT NULL,
  props            BLOB,
  client_id        TEXT    NOT NULL,
  username         TEXT    NOT NULL,
  protocol_version INTEGER NOT NULL,
  received_at_ms   INTEGER NOT NULL
);
CREATE INDEX messages_by_uplink ON messages (uplink, priority DESC, seq);
CREATE INDEX messages_by_expiry ON messages (expires_at_ms) WHERE expires_at_ms > 0;
CREATE TABLE uplink_state (
  uplink         TEXT PRIMARY KEY,
  last_batch_seq INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql";

// Version 1 -> 2 (issue 4): dead letters (expired rows, rows whose stored
// properties cannot be decoded, rows moved there by hand) and an index for
// eviction (lowest priority, oldest first, across uplinks).
constexpr const char* kV2 = R"sql(
CREATE TABLE dead_letters (
  seq              INTEGER PRIMARY KEY,
  uplink           TEXT    NOT NULL,
  route            TEXT    NOT NULL,
  priority         INTEGER NOT NULL DEFAULT 0,
  expires_at_ms    INTEGER NOT NULL DEFAULT 0,
  cloud_topic      TEXT    NOT NULL DEFAULT '',
  topic            TEXT    NOT NULL,
  payload          BLOB    NOT NULL,
  qos              INTEGER NOT NULL,
  retain           INTEGER NOT NULL,
  props            BLOB,
  client_id        TEXT    NOT NULL,
  username         TEXT    NOT NULL,
  protocol_version INTEGER NOT NULL,
  received_at_ms   INTEGER NOT NULL,
  reason           TEXT    NOT NULL,
  dead_at_ms       INTEGER NOT NULL
);
CREATE INDEX dead_letters_by_route ON dead_letters (route, seq);
CREATE INDEX messages_by_priority ON messages (priority, seq);
)sql";

// Version 2 -> 3 (issue 3): inbound QoS 2 packet identifiers the broker
// answered with PUBREC and has not seen PUBREL for, per client id. Written in
// the transaction that stores the message, so "stored" and "received" cannot
// diverge; a retransmitted PUBLISH (DUP) is then not stored twice, even after
// a restart.
constexpr const char* kV3 = R"sql(
CREATE TABLE qos2_received (
  client_id      TEXT    NOT NULL,
  packet_id      INTEGER NOT NULL,
  received_at_ms INTEGER NOT NULL,
  PRIMARY KEY (client_id, packet_id)
) WITHOUT ROWID;
)sql";

// Version 3 -> 4 (issue 3): the broker's retained messages (MQTT 5.0
// §3.3.1.3), one per topic, so they survive a restart.
constexpr const char* kV4 = R"sql(
CREATE TABLE retained (
  topic            TEXT    PRIMARY KEY,
  payload          BLOB    NOT NULL,
  qos              INTEGER NOT NULL,
  props            BLOB,
  client_id        TEXT    NOT NULL,
  username         TEXT    NOT NULL,
  protocol_version INTEGER NOT NULL,
  received_at_ms   INTEGER NOT NULL
);
)sql";

// Version 4 -> 5 (issue 4): eviction walks messages_by_uplink per uplink and
// priority instead; this index cost every insert and every delete a fourth
// b-tree update (~25% of the store's write throughput).
constexpr const char* kV5 = R"sql(
DROP INDEX messages_by_priority;
)sql";

// migrations[i] takes a database from version i to i + 1. Append, never edit:
// files on disk have run the older steps already.
constexpr const char* kMigrations[] = {kV1, kV2, kV3, kV4, kV5};
static_assert(std::size(kMigrations) == kSchemaVersion);

}  // namespace

Status migrate(Db& db) {
  auto version = db.query_int("PRAGMA user_version");
  if (!version.is_ok()) return version.status();
  if (*version > kSchemaVersion) {
    return unavailable("database schema version " + std::to_string(*version) +
                       " is newer than this build supports (" + std::to_string(kSchemaVersion) +
                       ")");
  }
  for (int64_t v = *version; v < kSchemaVersion; ++v) {
    GW_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
    std::string step = kMigrations[v];
    step += "PRAGMA user_version = " + std::to_string(v + 1) + ";";
    Status s = db.exec(step.c_str());
    if (!s.is_ok()) {
      (void)db.exec("ROLLBACK");
      return s.with_context("schema migration to version " + std::to_string(v + 1));
    }
    GW_RETURN_IF_ERROR(db.exec("COMMIT"));
  }
  return Status::ok();
}

}  // namespace gw::store::internal
