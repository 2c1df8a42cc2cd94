#include "daemon/engine/record_table.hpp"

#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <utility>

namespace coordd {

Record::Record(PooledString run_id_in, PooledString branch_in, std::uint64_t stamp_digest_in)
    : run_id(std::move(run_id_in)), branch(std::move(branch_in)), stamp_digest(stamp_digest_in) {}

Record::Ptr Record::make(std::string_view id, std::string_view json, PooledString run_id,
                         PooledString branch, const FileStamp& stamp) {
  if (id.size() > std::numeric_limits<std::uint8_t>::max()) {
    throw std::length_error("a record id of 256 bytes or more");
  }
  if (json.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("a record of 4 GiB or more");
  }
  auto id_size = static_cast<std::uint8_t>(id.size());
  auto json_size = static_cast<std::uint32_t>(json.size());
  void* block =
      ::operator new(sizeof(Record) + sizeof id_size + id.size() + sizeof json_size + json.size());
  Ptr record(new (block) Record(std::move(run_id), std::move(branch), stamp.digest()));
  char* out = reinterpret_cast<char*>(record.get() + 1);
  std::memcpy(out, &id_size, sizeof id_size);
  out += sizeof id_size;
  std::memcpy(out, id.data(), id.size());
  out += id.size();
  std::memcpy(out, &json_size, sizeof json_size);
  out += sizeof json_size;
  std::memcpy(out, json.data(), json.size());
  return record;
}

void Record::Deleter::operator()(Record* record) const noexcept {
  record->~Record();
  ::operator delete(record);
}

std::string_view Record::id() const {
  auto size = static_cast<std::uint8_t>(tail()[0]);
  return {tail() + 1, size};
}

std::string_view Record::data_json() const {
  const char* at = tail() + 1 + static_cast<std::uint8_t>(tail()[0]);
  std::uint32_t size = 0;
  std::memcpy(&size, at, sizeof size);
  return {at + sizeof size, size};
}

}  // namespace coordd
