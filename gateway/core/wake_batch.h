// WakeBatch: one cross-thread wake-up per burst of completions instead of
// one per completion.
//
// A store commit completes hundreds of appends on the writer thread, one
// callback each, and a callback typically hands its result to another thread
// (an asio post to the broker's io thread). Woken at the first callback, that
// thread takes a fraction of the answers and, on a busy machine, preempts the
// writer before it has delivered the rest; then the same happens again. Inside
// a WakeBatch scope, defer_wake() keeps the wake-up until the scope ends, once
// per key; outside any scope it wakes at once. Scopes are per thread and nest.
#pragma once

#include <functional>
#include <utility>
#include <vector>

namespace gw {

class WakeBatch {
 public:
  WakeBatch() : outer_(current_) { current_ = this; }
  ~WakeBatch() {
    current_ = outer_;
    for (auto& wake : wakes_) wake.second();
  }
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;

  // Runs `wake` now, or at the end of this thread's innermost scope; a second
  // wake-up with the same key in one scope is dropped (the first does it).
  static void defer_wake(const void* key, std::function<void()> wake) {
    if (current_ == nullptr) {
      wake();
      return;
    }
    for (const auto& w : current_->wakes_) {
      if (w.first == key) return;
    }
    current_->wakes_.emplace_back(key, std::move(wake));
  }

 private:
  static inline thread_local WakeBatch* current_ = nullptr;
  WakeBatch* outer_;
  std::vector<std::pair<const void*, std::function<void()>>> wakes_;
};

}  // namespace gw
