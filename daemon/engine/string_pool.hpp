// StringPool: one shared copy of each distinct string in use. Records of one
// run carry the same run_id and branch; a 100k-record daemon keeps a handful
// of copies instead of 200k. An entry lives while any handle to it does.
// Reactor thread only (handles must not outlive the pool).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace coordd {

using PooledString = std::shared_ptr<const std::string>;

class StringPool {
 public:
  StringPool() = default;
  StringPool(const StringPool&) = delete;
  StringPool& operator=(const StringPool&) = delete;

  // The pool's copy of `text`, made on first use.
  PooledString intern(std::string_view text);
  std::size_t size() const { return entries_.size(); }

 private:
  // Keyed by a view of the pooled string itself; the handle's deleter erases it.
  std::unordered_map<std::string_view, std::weak_ptr<const std::string>> entries_;
};

}  // namespace coordd
