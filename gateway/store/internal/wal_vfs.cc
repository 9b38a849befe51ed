#include "gateway/store/internal/wal_vfs.h"

#include <sqlite3.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace gw::store::internal {
namespace {

// Four frames of 4 KiB pages per write (wal_vfs.h says why not more).
constexpr sqlite3_int64 kMaxHeld = 4 * (24 + 4096);

sqlite3_vfs* g_real = nullptr;

// What SQLite allocates for one of our files (szOsFile): this, then the
// real VFS's file. Plain data: SQLite allocates it without constructing it.
struct File {
  sqlite3_file base;
  sqlite3_file* real;
  char* held;  // WAL files only: kMaxHeld bytes, [held_at, held_at + held_len) of the file
  sqlite3_int64 held_at, held_len;
};

constexpr size_t kFileSize = (sizeof(File) + 7) & ~size_t{7};

File* as_file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* real_of(sqlite3_file* f) { return as_file(f)->real; }

// The real file's method.
template <auto Method, typename... Args>
auto forward(sqlite3_file* f, Args... args) {
  return (real_of(f)->pMethods->*Method)(real_of(f), args...);
}

int flush(File* f) {
  if (f->held_len == 0) return SQLITE_OK;
  const int rc = f->real->pMethods->xWrite(f->real, f->held, static_cast<int>(f->held_len), f->held_at);
  f->held_len = 0;
  return rc;
}

int x_close(sqlite3_file* file) {
  File* f = as_file(file);
  const int flushed = flush(f);
  std::free(f->held);
  f->held = nullptr;
  const int rc = forward<&sqlite3_io_methods::xClose>(file);
  return flushed != SQLITE_OK ? flushed : rc;
}

int x_write(sqlite3_file* file, const void* data, int n, sqlite3_int64 offset) {
  File* f = as_file(file);
  if (f->held_len > 0 && (offset != f->held_at + f->held_len || f->held_len + n > kMaxHeld)) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  if (f->held == nullptr || n > kMaxHeld) return forward<&sqlite3_io_methods::xWrite>(file, data, n, offset);
  if (f->held_len == 0) f->held_at = offset;
  std::memcpy(f->held + f->held_len, data, static_cast<size_t>(n));
  f->held_len += n;
  return SQLITE_OK;
}

// Every other method on a file: write what is held first, then the real one.
template <auto Method, typename... Args>
int flushed_call(sqlite3_file* file, Args... args) {
  if (int rc = flush(as_file(file)); rc != SQLITE_OK) return rc;
  return forward<Method>(file, args...);
}

int x_read(sqlite3_file* f, void* out, int n, sqlite3_int64 offset) {
  return flushed_call<&sqlite3_io_methods::xRead>(f, out, n, offset);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) { return flushed_call<&sqlite3_io_methods::xTruncate>(f, size); }
int x_sync(sqlite3_file* f, int flags) { return flushed_call<&sqlite3_io_methods::xSync>(f, flags); }
int x_file_size(sqlite3_file* f, sqlite3_int64* size) { return flushed_call<&sqlite3_io_methods::xFileSize>(f, size); }
int x_lock(sqlite3_file* f, int level) { return flushed_call<&sqlite3_io_methods::xLock>(f, level); }
int x_unlock(sqlite3_file* f, int level) { return flushed_call<&sqlite3_io_methods::xUnlock>(f, level); }
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return flushed_call<&sqlite3_io_methods::xCheckReservedLock>(f, out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return flushed_call<&sqlite3_io_methods::xFileControl>(f, op, arg);
}
// Our methods are version 3; the default unix VFS's are too, but a lower
// version has no memory mapping (SQLite then reads) or no shared memory.
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
  if (real_of(f)->pMethods->iVersion < 3) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return flushed_call<&sqlite3_io_methods::xFetch>(f, offset, n, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  if (real_of(f)->pMethods->iVersion < 3) return SQLITE_OK;
  return flushed_call<&sqlite3_io_methods::xUnfetch>(f, offset, p);
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  if (real_of(f)->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return forward<&sqlite3_io_methods::xShmMap>(f, region, size, extend, out);
}

// Sector size, device characteristics and shared memory (which belongs to the
// database file, never a WAL) hold nothing: forwarded as they are.
const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    forward<&sqlite3_io_methods::xSectorSize>,
    forward<&sqlite3_io_methods::xDeviceCharacteristics>,
    x_shm_map,
    forward<&sqlite3_io_methods::xShmLock>,
    forward<&sqlite3_io_methods::xShmBarrier>,
    forward<&sqlite3_io_methods::xShmUnmap>,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = as_file(file);
  std::memset(f, 0, sizeof(File));
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kFileSize);
  const int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set, so only with a real file.
  f->base.pMethods = f->real->pMethods != nullptr ? &kMethods : nullptr;
  // Without the buffer (out of memory) a WAL is written through, as before.
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) != 0) f->held = static_cast<char*>(std::malloc(kMaxHeld));
  return rc;
}

}  // namespace

const char* coalescing_wal_vfs() {
  static sqlite3_vfs vfs;
  static std::once_flag once;
  std::call_once(once, [] {
    g_real = sqlite3_vfs_find(nullptr);
    // Every method but xOpen is the real VFS's own: they get our struct, a
    // copy of theirs (pAppData included).
    vfs = *g_real;
    vfs.pNext = nullptr;
    vfs.szOsFile = static_cast<int>(kFileSize) + g_real->szOsFile;
    vfs.zName = "gw-wal-coalesce";
    vfs.xOpen = x_open;
    sqlite3_vfs_register(&vfs, /*makeDflt=*/0);
  });
  return vfs.zName;
}

}  // namespace gw::store::internal
