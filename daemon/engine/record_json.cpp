#include "daemon/engine/record_json.hpp"

#include <cstring>
#include <limits>
#include <stdexcept>

namespace coordd {

RecordJson::RecordJson(std::string_view text) {
  if (text.empty()) return;
  if (text.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("a record of 4 GiB or more");
  }
  auto size = static_cast<std::uint32_t>(text.size());
  block_ = std::make_unique_for_overwrite<char[]>(sizeof size + text.size());
  std::memcpy(block_.get(), &size, sizeof size);
  std::memcpy(block_.get() + sizeof size, text.data(), text.size());
}

std::string_view RecordJson::view() const {
  if (!block_) return {};
  std::uint32_t size = 0;
  std::memcpy(&size, block_.get(), sizeof size);
  return {block_.get() + sizeof size, size};
}

}  // namespace coordd
