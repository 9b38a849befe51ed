// WakeBatch: one cross-thread wake-up per burst of completions instead of
// one per completion.
//
// A store commit completes hundreds of appends on the writer thread, one
// callback each, and a callback typically hands its result to another thread
// (an asio post to the broker's io thread). Woken at the first callback, that
// thread takes a fraction of the answers and, on a busy machine, preempts the
// writer before it has delivered the rest; then the same happens again. Inside
// a WakeBatch scope, defer_wake() keeps the wake-up until the scope ends;
// outside any scope it wakes at once. Scopes are per thread and nest. The
// caller wakes once per burst (the broker's Gate: one drain on its way).
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
    for (auto& wake : wakes_) wake();
  }
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;

  // Runs `wake` now, or at the end of this thread's innermost scope, in the
  // order deferred.
  static void defer_wake(std::function<void()> wake) {
    if (current_ == nullptr) {
      wake();
      return;
    }
    current_->wakes_.push_back(std::move(wake));
  }

 private:
  static inline thread_local WakeBatch* current_ = nullptr;
  WakeBatch* outer_;
  std::vector<std::function<void()>> wakes_;
};

}  // namespace gw
