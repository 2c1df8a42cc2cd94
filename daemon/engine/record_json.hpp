// RecordJson: a stored record's compact JSON, in one allocation of its exact
// size (a 4-byte length, then the bytes). It is 8 bytes in the record where a
// std::string is 32, and wastes no capacity: a daemon holds one per record,
// and 1M records (bench/: scale).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace coordd {

class RecordJson {
 public:
  RecordJson() = default;
  // `text` is at most 4 GiB - 1 (--max-record-bytes bounds it at 1 GiB).
  explicit RecordJson(std::string_view text);
  RecordJson(const RecordJson& other) : RecordJson(other.view()) {}
  RecordJson& operator=(const RecordJson& other) {
    if (this != &other) *this = RecordJson(other.view());
    return *this;
  }
  RecordJson(RecordJson&&) noexcept = default;
  RecordJson& operator=(RecordJson&&) noexcept = default;

  std::string_view view() const;
  operator std::string_view() const { return view(); }  // NOLINT: reads as the text it is
  std::size_t size() const { return view().size(); }
  bool empty() const { return size() == 0; }
  std::string str() const { return std::string(view()); }

  friend bool operator==(const RecordJson& a, std::string_view b) { return a.view() == b; }

 private:
  std::unique_ptr<char[]> block_;  // null: empty
};

}  // namespace coordd
