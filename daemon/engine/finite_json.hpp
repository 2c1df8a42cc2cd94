// Whether a parsed JSON value can be written back as JSON. Boost.JSON reads a
// number beyond the double range (1e400) as an infinity and serializes it as
// `Infinity`, which JSON parsers reject; such values are refused where they
// enter (record files, requests). Pure function; safe from any thread.
#pragma once

#include <boost/json/value.hpp>

namespace coordd {

// False when any number in `value` is infinite or NaN. Recurses as deep as
// the value nests (the parsers' max_depth bounds it).
bool all_numbers_finite(const boost::json::value& value);

}  // namespace coordd
