#include "daemon/server/connection_manager.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <vector>

#include "daemon/server/event_journal.hpp"

namespace coordd {

void ConnectionManager::start(std::shared_ptr<Connection> connection) {
  Connection* key = connection.get();
  connections_.emplace(key, std::move(connection));
  peak_ = std::max(peak_, connections_.size());
  key->start();
}

void ConnectionManager::forget(Connection* connection) {
  connections_.erase(connection);
  if (peak_ >= kTrimAfterPeak && connections_.size() <= kTrimLowWater) {
    peak_ = connections_.size();
#if defined(__GLIBC__)
    // Returns free pages anywhere in the heap, not only at its top; a few ms
    // for a heap of tens of MiB, once per burst.
    ::malloc_trim(0);
#endif
  }
}

void ConnectionManager::stop_all() {
  // stop() calls forget(), so iterate over a copy.
  std::vector<std::shared_ptr<Connection>> all;
  for (auto& [key, connection] : connections_) all.push_back(connection);
  for (auto& connection : all) connection->stop();
  connections_.clear();
}

void ConnectionManager::publish_to_all(const EventPtr& event,
                                       std::vector<const AgentSession*>* matched) {
  journal_.append(event);
  for (auto it = connections_.begin(); it != connections_.end();) {
    auto next = std::next(it);  // deliver() may close and forget its connection
    if (it->second->deliver(event) && matched) matched->push_back(it->second.get());
    it = next;
  }
}

std::size_t ConnectionManager::subscription_count() const {
  std::size_t n = 0;
  for (const auto& [key, connection] : connections_) n += connection->subscriptions().size();
  return n;
}

}  // namespace coordd
