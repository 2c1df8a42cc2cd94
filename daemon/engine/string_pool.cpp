#include "daemon/engine/string_pool.hpp"

namespace coordd {

PooledString StringPool::intern(std::string_view text) {
  if (auto it = entries_.find(text); it != entries_.end()) {
    if (PooledString existing = it->second.lock()) return existing;
  }
  PooledString pooled(new std::string(text), [this](const std::string* gone) {
    entries_.erase(*gone);
    delete gone;
  });
  entries_.insert_or_assign(std::string_view(*pooled), pooled);
  return pooled;
}

}  // namespace coordd
