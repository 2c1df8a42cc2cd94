#include "daemon/engine/finite_json.hpp"

#include <cmath>

namespace coordd {

bool all_numbers_finite(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::double_:
      return std::isfinite(value.get_double());
    case boost::json::kind::array:
      for (const boost::json::value& item : value.get_array()) {
        if (!all_numbers_finite(item)) return false;
      }
      return true;
    case boost::json::kind::object:
      for (const auto& [key, item] : value.get_object()) {
        if (!all_numbers_finite(item)) return false;
      }
      return true;
    default:
      return true;
  }
}

}  // namespace coordd
