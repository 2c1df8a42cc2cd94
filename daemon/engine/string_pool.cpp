#include "daemon/engine/string_pool.hpp"

namespace coordd {

const std::string& PooledString::operator*() const {
  static const std::string kEmpty;
  return entry_ == nullptr ? kEmpty : entry_->text;
}

void PooledString::release() {
  if (entry_ != nullptr && --entry_->refs == 0) entry_->pool->forget(entry_);
  entry_ = nullptr;
}

StringPool::~StringPool() {
  // Empty when every handle went first, as it must (Store declares its pool
  // before the records holding handles).
  for (auto& [text, entry] : entries_) delete entry;
}

PooledString StringPool::intern(std::string_view text) {
  if (auto it = entries_.find(text); it != entries_.end()) return PooledString(it->second);
  auto* entry = new PooledString::Entry{std::string(text), 0, this};
  entries_.emplace(std::string_view(entry->text), entry);
  return PooledString(entry);
}

void StringPool::forget(PooledString::Entry* entry) {
  entries_.erase(std::string_view(entry->text));
  delete entry;
}

}  // namespace coordd
