#include "gateway/store/internal/wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
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
  bool wal;
  char* held;  // malloc'ed; [held_at, held_at + held_len) of the file
  sqlite3_int64 held_at, held_len, held_cap;
};

constexpr size_t kFileSize = (sizeof(File) + 7) & ~size_t{7};

File* as_file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* real_of(sqlite3_file* f) { return as_file(f)->real; }

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
  const int rc = f->real->pMethods->xClose(f->real);
  return flushed != SQLITE_OK ? flushed : rc;
}

int x_write(sqlite3_file* file, const void* data, int n, sqlite3_int64 offset) {
  File* f = as_file(file);
  if (!f->wal) return f->real->pMethods->xWrite(f->real, data, n, offset);
  if (f->held_len > 0 && offset != f->held_at + f->held_len) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  if (f->held_len + n > kMaxHeld) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    if (n > kMaxHeld) return f->real->pMethods->xWrite(f->real, data, n, offset);
  }
  if (f->held_len + n > f->held_cap) {
    const sqlite3_int64 cap = std::max<sqlite3_int64>(f->held_len + n, std::min(kMaxHeld, 2 * f->held_cap + 65536));
    char* grown = static_cast<char*>(std::realloc(f->held, static_cast<size_t>(cap)));
    if (grown == nullptr) {
      if (int rc = flush(f); rc != SQLITE_OK) return rc;
      return f->real->pMethods->xWrite(f->real, data, n, offset);
    }
    f->held = grown;
    f->held_cap = cap;
  }
  if (f->held_len == 0) f->held_at = offset;
  std::memcpy(f->held + f->held_len, data, static_cast<size_t>(n));
  f->held_len += n;
  return SQLITE_OK;
}

// Every other method: write what is held first, then the real VFS's method.
template <auto Method, typename... Args>
int flushed_call(sqlite3_file* file, Args... args) {
  File* f = as_file(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return (f->real->pMethods->*Method)(f->real, args...);
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
// Shared memory belongs to the database file, never a WAL: nothing is held.
int x_sector_size(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
int x_device_characteristics(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  if (real_of(f)->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
int x_shm_unmap(sqlite3_file* f, int delete_flag) { return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag); }

const sqlite3_io_methods kMethods = {
    3,        x_close,      x_read,        x_write,       x_truncate,  x_sync,     x_file_size, x_lock, x_unlock,
    x_check_reserved_lock,  x_file_control, x_sector_size, x_device_characteristics, x_shm_map, x_shm_lock,
    x_shm_barrier,          x_shm_unmap,  x_fetch,       x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = as_file(file);
  std::memset(f, 0, sizeof(File));
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kFileSize);
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  const int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set, so only with a real file.
  f->base.pMethods = f->real->pMethods != nullptr ? &kMethods : nullptr;
  return rc;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) { return g_real->xDelete(g_real, name, sync_dir); }
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_real->xAccess(g_real, name, flags, out); }
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* path) { return g_real->xDlOpen(g_real, path); }
void x_dl_error(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int x_randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int x_sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int x_current_time(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int x_get_last_error(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); }
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) { return g_real->xCurrentTimeInt64(g_real, out); }

}  // namespace

const char* coalescing_wal_vfs() {
  static sqlite3_vfs vfs;
  static std::once_flag once;
  std::call_once(once, [] {
    g_real = sqlite3_vfs_find(nullptr);
    vfs.iVersion = 2;
    vfs.szOsFile = static_cast<int>(kFileSize) + g_real->szOsFile;
    vfs.mxPathname = g_real->mxPathname;
    vfs.zName = "gw-wal-coalesce";
    vfs.xOpen = x_open;
    vfs.xDelete = x_delete;
    vfs.xAccess = x_access;
    vfs.xFullPathname = x_full_pathname;
    vfs.xDlOpen = x_dl_open;
    vfs.xDlError = x_dl_error;
    vfs.xDlSym = x_dl_sym;
    vfs.xDlClose = x_dl_close;
    vfs.xRandomness = x_randomness;
    vfs.xSleep = x_sleep;
    vfs.xCurrentTime = x_current_time;
    vfs.xGetLastError = x_get_last_error;
    vfs.xCurrentTimeInt64 = x_current_time_int64;
    sqlite3_vfs_register(&vfs, /*makeDflt=*/0);
  });
  return vfs.zName;
}

}  // namespace gw::store::internal
