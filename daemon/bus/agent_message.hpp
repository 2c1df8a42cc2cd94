// Agent messages: the kinds of rustagent's WorkerMessage as JSON objects with
// a snake_case "kind", validated field by field, plus custom "x-" kinds.
// Pure functions; safe from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "proto/status.hpp"

namespace coordd {

// 1-128 characters of [A-Za-z0-9._:@-].
bool is_valid_agent_id(std::string_view id);

// Checks `message` against its kind. Where the kind carries agent_id it must
// equal `sender` (and is filled in from it when absent); an anonymous sender
// cannot send such a kind. A failure is bad_message, naming the field.
Status validate_message(boost::json::object& message, const std::optional<std::string>& sender);

}  // namespace coordd
