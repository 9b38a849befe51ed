// A VFS over SQLite's default one that writes a WAL commit with one pwrite()
// per four pages instead of two per page.
//
// SQLite appends a WAL frame as two writes, the 24-byte frame header and then
// the page, so a commit of 40 pages costs 80 write() calls. On ext4 each
// buffered write() costs ~1.8 µs of CPU whatever its size (file time update,
// journal handle, page-cache lookups) against ~0.4 µs per 4 KiB copied, and
// the store's writer thread is on every acknowledgement's path.
//
// The VFS keeps contiguous appends to a -wal file in memory and writes them
// in one call before any other operation on that file (xSync, xRead,
// xTruncate, xFileSize, xClose, ...: every method but an appending xWrite),
// and whenever four frames (16 KiB of pages) are held. Nothing is reordered;
// writes only happen later, within the same call into SQLite. No other
// connection or process can read a held frame: readers use frames up to the
// wal-index header only, which a commit publishes after its xSync of the
// WAL. That xSync exists only with synchronous = FULL, so the VFS is for
// connections in that mode (durability: fsync); with NORMAL a commit
// publishes its frames without calling the WAL file again.
//
// Why not a whole commit per write: bytes written to disk per message grew
// with the write size here (kernel 6.18, ext4; likely its page-cache folios,
// sized by the write and written back whole by fdatasync, while each commit
// rewrites part of the last one's page). Interleaved runs, 100 publishers at
// a fixed 50,000 msg/s: SQLite's own VFS 1,112-1,174 B/msg, four frames per
// write 1,137-1,252, 128 KiB per write 1,260-1,550; flat out 803-835,
// 825-839 and 908-923. (The unix VFS also writes at most 128 KiB - 1 per
// call: os_unix.c seekAndWriteFd masks the length.)
//
// A failed write is reported by the call that made it (xSync for a commit),
// with the code SQLite's own write would have returned (SQLITE_FULL, ...).
#pragma once

namespace gw::store::internal {

// Registers the VFS (once, not as the default) and returns its name for
// sqlite3_open_v2.
const char* coalescing_wal_vfs();

}  // namespace gw::store::internal
