// A std::deque that allocates nothing while it is empty. libstdc++'s deque allocates its
// map and a 512-byte block on construction, so every channel's empty history cost 576
// bytes: with a channel per stream (S3's sessions) that was half of what an idle stream
// cost (issue 12: "at most 1 KiB per idle stream that has its own channel"). The deque
// is made at the first push and freed again when the last element leaves, so a channel
// whose events expired holds nothing either.
#pragma once

#include <deque>
#include <memory>

namespace sluice::history {

template <typename T>
class LazyDeque {
  public:
    using const_iterator = typename std::deque<T>::const_iterator;

    bool empty() const { return !items_ || items_->empty(); }
    size_t size() const { return items_ ? items_->size() : 0; }
    const T& front() const { return items_->front(); }
    const T& back() const { return items_->back(); }
    const_iterator begin() const { return view().begin(); }
    const_iterator end() const { return view().end(); }

    void push_back(T v) { made().push_back(std::move(v)); }
    void push_front(T v) { made().push_front(std::move(v)); }
    void pop_front() {
        items_->pop_front();
        if (items_->empty()) items_.reset();
    }
    void clear() { items_.reset(); }

  private:
    std::deque<T>& made() {
        if (!items_) items_ = std::make_unique<std::deque<T>>();
        return *items_;
    }
    const std::deque<T>& view() const {
        static const std::deque<T> kEmpty;
        return items_ ? *items_ : kEmpty;
    }

    std::unique_ptr<std::deque<T>> items_;
};

}  // namespace sluice::history
