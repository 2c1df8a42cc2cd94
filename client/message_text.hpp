// How coordctl prints an agent message line for people (recv, tap):
//   seq 57  orchestrator@host-a -> worker-1  task_assignment  {"task_id":"t1",...}
// The sender's host appears in a swarm, "(again)" on a redelivered message,
// and every string from the wire has its control characters stripped, so a
// message cannot drive the terminal. Main thread.
#pragma once

#include <boost/json/object.hpp>
#include <string>

namespace coordd {

std::string message_text(const boost::json::object& line);

}  // namespace coordd
