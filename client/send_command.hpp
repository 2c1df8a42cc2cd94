// `coordctl send` and `coordctl broadcast`: one agent message from the shell.
// The message is --message's JSON object, then --kind, then each --field
// (key=value for a string, key:=JSON for any JSON value), later ones
// winning; coordd checks it as it checks every message and its error text is
// printed as is. With --as it is from that agent (a hello with
// "mailbox":false: the agent's mailbox stays where it is). Exit 0 when coordd answered `sent`, 1
// when it refused or did not answer, 2 for a bad command line. Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "proto/status.hpp"

namespace coordd {

struct SendArgs {
  bool broadcast = false;
  std::string to;  // send only
  std::string kind;
  std::vector<std::string> fields;
  std::string message;  // a JSON object
  std::string as;       // send as this agent (without taking its mailbox)
  bool json = false;
  std::string socket;
  double timeout = 10.0;  // seconds per reply (--timeout)
};

CLI::App* add_send_command(CLI::App& app, SendArgs& args);
CLI::App* add_broadcast_command(CLI::App& app, SendArgs& args);
int run_send(const SendArgs& args);

// The message object the arguments describe, or bad_field saying which
// argument is wrong.
Result<boost::json::object> message_of(const SendArgs& args);

}  // namespace coordd
