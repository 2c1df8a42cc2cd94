// What `coordctl top --json` prints: a TopModel as one JSON object, the same
// things the view shows, for programs. Values from coordd and agents are as
// coordd sent them (Boost.JSON escapes their control characters); fields are
// listed in `coordctl top --help`. Pure.
#pragma once

#include <boost/json/object.hpp>
#include <optional>

#include "client/top_model.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

// The object at wall time `now` (for each lease's seconds_left). The rates are
// read at `rates_at`; without it (a snapshot: the model has not watched long
// enough to have any) they are null.
boost::json::object top_json(const TopModel& model, WallTime now,
                             std::optional<TopClock::time_point> rates_at);

}  // namespace coordd
