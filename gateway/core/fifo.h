// Fifo: a first-in first-out queue on one vector.
//
// Why not std::deque: libstdc++'s deque allocates a 512-byte block and its
// map as soon as it is constructed, empty or not, and the broker holds
// several queues per connection and per session that are empty nearly all
// the time (idle devices are many). A Fifo allocates nothing until the first
// push_back.
//
// pop_front() resets the front element (T{}: its memory is released at once)
// and advances a head index; the consumed prefix is erased when it is at least
// half of the vector, so each element is moved O(1) times on average, and the
// vector is cleared whenever the queue becomes empty. Capacity is kept.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace gw {

template <typename T>
class Fifo {
 public:
  using iterator = typename std::vector<T>::iterator;

  Fifo() = default;
  // A moved-from Fifo is empty and usable.
  Fifo(Fifo&& o) noexcept : items_(std::exchange(o.items_, {})), head_(std::exchange(o.head_, 0)) {}
  Fifo& operator=(Fifo&& o) noexcept {
    items_ = std::exchange(o.items_, {});
    head_ = std::exchange(o.head_, 0);
    return *this;
  }
  Fifo(const Fifo&) = default;
  Fifo& operator=(const Fifo&) = default;

  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  iterator begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() { return items_.end(); }

  void push_back(T item) { items_.push_back(std::move(item)); }

  void pop_front() {
    items_[head_] = T{};
    if (++head_ == items_.size()) {
      clear();
    } else if (head_ >= kCompactAt && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), begin());
      head_ = 0;
    }
  }

  void clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  static constexpr size_t kCompactAt = 16;
  std::vector<T> items_;
  size_t head_ = 0;  // items_[0, head_) are consumed
};

}  // namespace gw
