// The coalescing WAL VFS (gateway/store/internal/wal_vfs.h) on a real file:
// a commit's frames reach the WAL in a write() per four pages instead of two
// per page (counted in /proc/thread-self/io against SQLite's own VFS in the same
// test), and what is committed is at once visible to another connection on
// SQLite's default VFS, survives a reopen and passes integrity_check.
#include "gateway/store/internal/wal_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "gateway/core/proc_io.h"
#include "gateway/store/internal/sqlite.h"
#include "tests/support/process.h"

namespace gw::store::internal {
namespace {

using gw::testing::TempDir;

// write()-type system calls this thread made so far.
uint64_t thread_write_calls() { return io_counter(IoScope::kThread, "syscw"); }

Db open_full(const std::string& path, const char* vfs) {
  auto db = Db::open(path, /*create=*/true, /*read_only=*/false, vfs);
  EXPECT_TRUE(db.is_ok()) << db.status().to_string();
  Db out = std::move(db.value());
  EXPECT_TRUE(out.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                       "PRAGMA wal_autocheckpoint = 0; CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)")
                  .is_ok());
  return out;
}

// write() calls for one transaction of 200 rows of 1 KiB (~55 pages).
uint64_t writes_for_one_commit(Db& db, int first_key) {
  const uint64_t before = thread_write_calls();
  EXPECT_TRUE(db.exec("BEGIN IMMEDIATE").is_ok());
  for (int k = first_key; k < first_key + 200; ++k) {
    const std::string sql = "INSERT INTO t VALUES (" + std::to_string(k) + ", randomblob(1024))";
    EXPECT_TRUE(db.exec(sql.c_str()).is_ok());
  }
  const Status committed = db.exec("COMMIT");
  EXPECT_TRUE(committed.is_ok()) << committed.to_string();
  return thread_write_calls() - before;
}

TEST(WalVfsTest, OneCommitIsAFewWritesInsteadOfTwoPerPage) {
  TempDir dir;
  Db plain = open_full((dir.path() / "plain.db").string(), nullptr);
  Db coalesced = open_full((dir.path() / "coalesced.db").string(), coalescing_wal_vfs());
  writes_for_one_commit(plain, 0);  // the first commit also writes the WAL header
  writes_for_one_commit(coalesced, 0);
  const uint64_t by_sqlite = writes_for_one_commit(plain, 1000);
  const uint64_t by_us = writes_for_one_commit(coalesced, 1000);
  EXPECT_GE(by_sqlite, 100u);
  EXPECT_LE(by_us * 4, by_sqlite) << "ours " << by_us << ", SQLite's own VFS " << by_sqlite;  // 4 frames per write
}

TEST(WalVfsTest, CommittedRowsAreVisibleToOtherConnectionsAndSurviveAReopen) {
  TempDir dir;
  const std::string path = (dir.path() / "q.db").string();
  {
    Db writer = open_full(path, coalescing_wal_vfs());
    auto reader = Db::open(path, /*create=*/false);  // SQLite's default VFS
    ASSERT_TRUE(reader.is_ok());
    for (int round = 0; round < 5; ++round) {
      writes_for_one_commit(writer, round * 200);
      auto n = reader->query_int("SELECT count(*) FROM t");
      ASSERT_TRUE(n.is_ok());
      EXPECT_EQ(*n, (round + 1) * 200);
    }
    // Checkpoints read the WAL back through the VFS.
    ASSERT_TRUE(writer.exec("PRAGMA wal_checkpoint(TRUNCATE)").is_ok());
    writes_for_one_commit(writer, 1000);  // into a restarted WAL
  }
  auto db = Db::open(path, /*create=*/false);
  ASSERT_TRUE(db.is_ok());
  auto check = db->query_text("PRAGMA integrity_check");
  ASSERT_TRUE(check.is_ok());
  EXPECT_EQ(*check, "ok");
  auto n = db->query_int("SELECT count(*) FROM t");
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(*n, 1200);
}

}  // namespace
}  // namespace gw::store::internal
