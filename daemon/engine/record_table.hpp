// Record and RecordTable: the stored records of one root and kind. Each
// record is one allocation of its exact size (its fields, then its id and
// compact JSON), held in a PointerTable by id. A daemon holds one record per
// file and 1M records (bench/: scale): against std::unordered_map nodes that
// own a separate JSON block, this is one allocation per record, not two, and
// 44 bytes less per record at 1M.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "daemon/engine/file_system.hpp"
#include "daemon/engine/pointer_table.hpp"
#include "daemon/engine/string_pool.hpp"

namespace coordd {

class Record {
 public:
  Record(const Record&) = delete;
  Record& operator=(const Record&) = delete;

  std::string_view id() const;
  std::string_view data_json() const;  // compact JSON object

  // Fixed size (32 bytes) ahead of the id and JSON.
  PooledString run_id;  // for filters; "" when absent (Store::tag makes them)
  PooledString branch;
  std::uint64_t stamp_digest = 0;  // FileStamp::digest() of the content last read
  std::uint64_t seq = 0;           // seq of the last event about this record

  // Allocates a record holding copies of `id` (at most 255 bytes: record ids
  // are at most 128) and `json` (less than 4 GiB).
  struct Deleter {
    void operator()(Record* record) const noexcept;
  };
  using Ptr = std::unique_ptr<Record, Deleter>;
  static Ptr make(std::string_view id, std::string_view json, PooledString run_id,
                  PooledString branch, const FileStamp& stamp);

 private:
  Record(PooledString run_id, PooledString branch, std::uint64_t stamp_digest);
  // After the fields: a 1-byte id length, the id, a 4-byte JSON length, the JSON.
  const char* tail() const { return reinterpret_cast<const char*>(this + 1); }
};

// Records by id.
struct RecordKeyTraits {
  using Key = std::string_view;
  static Key key(const Record& record) { return record.id(); }
  static std::size_t hash(Key id) { return std::hash<std::string_view>{}(id); }
  using Deleter = Record::Deleter;
};
using RecordTable = PointerTable<Record, RecordKeyTraits>;

}  // namespace coordd
