// Store: the last good content of every coordination record, per root and
// kind. Owned by the Engine on the reactor thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "daemon/engine/file_system.hpp"
#include "daemon/engine/record_ref.hpp"
#include "daemon/engine/record_table.hpp"
#include "daemon/engine/string_pool.hpp"

namespace coordd {

class Store {
 public:
  using KindRecords = RecordTable;

  // A run_id or branch value, shared with every record carrying it.
  PooledString tag(std::string_view value) { return tags_.intern(value); }

  const Record* find(const RecordRef& ref) const;
  Record* find(const RecordRef& ref);
  // Stores `json` as the record `ref`, new or replacing the one there (a
  // pointer to which is then invalid); returns it, with seq 0. Other records
  // never move: pointers to them stay valid until they are replaced or taken.
  Record& put(const RecordRef& ref, std::string_view json, PooledString run_id, PooledString branch,
              const FileStamp& stamp);
  // Removes and returns the record, if present (else null).
  Record::Ptr take(const RecordRef& ref);
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
