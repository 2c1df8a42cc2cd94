// StringPool: one shared copy of each distinct short string (run ids, branch
// names) that many records carry, handed out as 8-byte counted handles.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace coordd {

class StringPool;

// A counted handle on a pooled string: one pointer, as a daemon holds one per
// record field and 1M records (bench/: scale). An empty handle reads as "".
// Handles of one pool are used from one thread (the reactor's).
class PooledString {
 public:
  PooledString() = default;
  PooledString(const PooledString& other) : entry_(other.entry_) { retain(); }
  PooledString(PooledString&& other) noexcept : entry_(other.entry_) { other.entry_ = nullptr; }
  PooledString& operator=(PooledString other) noexcept {
    std::swap(entry_, other.entry_);
    return *this;
  }
  ~PooledString() { release(); }

  const std::string& operator*() const;
  const std::string* operator->() const { return &**this; }
  // Identifies the pooled copy (equal strings of one pool share it).
  const void* get() const { return entry_; }
  void reset() { PooledString().swap(*this); }
  void swap(PooledString& other) noexcept { std::swap(entry_, other.entry_); }

 private:
  friend class StringPool;
  struct Entry {
    std::string text;
    std::size_t refs = 0;
    StringPool* pool = nullptr;
  };
  explicit PooledString(Entry* entry) : entry_(entry) { retain(); }
  void retain() const {
    if (entry_ != nullptr) ++entry_->refs;
  }
  void release();

  Entry* entry_ = nullptr;
};

class StringPool {
 public:
  StringPool() = default;
  StringPool(const StringPool&) = delete;
  StringPool& operator=(const StringPool&) = delete;
  // Handles must not outlive their pool.
  ~StringPool();

  // The pool's copy of `text`, made on first use.
  PooledString intern(std::string_view text);
  std::size_t size() const { return entries_.size(); }

 private:
  friend class PooledString;
  void forget(PooledString::Entry* entry);

  // Keyed by a view of the entry's own text; an entry goes with its last handle.
  std::unordered_map<std::string_view, PooledString::Entry*> entries_;
};

}  // namespace coordd
