// Store: the last good content of every coordination record, per root and
// kind. Owned by the Engine on the reactor thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "daemon/engine/file_system.hpp"
#include "daemon/engine/record_json.hpp"
#include "daemon/engine/record_ref.hpp"
#include "daemon/engine/string_pool.hpp"

namespace coordd {

// 64 bytes beside its id (the map node is 104, malloc's chunk 112): kept
// small, as a daemon holds one per record, and 1M records (bench/: scale).
struct Record {
  RecordJson data_json;  // compact JSON object
  PooledString run_id;   // for filters; "" when absent (Store::tag makes them)
  PooledString branch;
  FileStamp stamp;        // of the content last read
  std::uint64_t seq = 0;  // seq of the last event about this record
};

class Store {
 public:
  // Hashes ids without caching the hash in each node (noexcept, so
  // libstdc++ does not): 8 bytes less, and the node fits malloc's 112-byte
  // class rather than 128.
  struct IdHash {
    std::size_t operator()(const std::string& id) const noexcept {
      return std::hash<std::string_view>{}(id);
    }
  };
  using KindRecords = std::unordered_map<std::string, Record, IdHash>;

  // A run_id or branch value, shared with every record carrying it.
  PooledString tag(std::string_view value) { return tags_.intern(value); }

  const Record* find(const RecordRef& ref) const;
  Record* find(const RecordRef& ref);
  // Inserts or replaces; returns the stored record.
  Record& put(const RecordRef& ref, Record record);
  // Removes and returns the record, if present.
  std::optional<Record> take(const RecordRef& ref);
  // The records of one root and kind (empty when none).
  const KindRecords& records(RootId root, Kind kind) const;
  void drop_root(RootId root);
  // Room for `n` records of one root and kind without rehashing (a scan
  // that knows how many files it will read).
  void reserve(RootId root, Kind kind, std::size_t n);

  std::size_t size() const { return size_; }
  std::size_t count(Kind kind) const { return per_kind_[static_cast<std::size_t>(kind)]; }
  const std::map<RootId, std::array<KindRecords, kKindCount>>& roots() const { return roots_; }

 private:
  StringPool tags_;  // declared first: records hold handles into it
  std::map<RootId, std::array<KindRecords, kKindCount>> roots_;
  std::array<std::size_t, kKindCount> per_kind_{};
  std::size_t size_ = 0;
};

}  // namespace coordd
