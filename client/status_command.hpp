// `coordctl status`: what coordd reports about itself (version, uptime,
// backend, roots, records per kind, leases, clients, counters, journal and
// limits), as a readable summary or (--json) as the raw reply. Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <string>

namespace coordd {

struct StatusArgs {
  bool json = false;
  std::string socket;
  double timeout = 10.0;  // seconds per reply (--timeout)
};

CLI::App* add_status_command(CLI::App& app, StatusArgs& args);
int run_status(const StatusArgs& args);

// The readable summary of a status reply; missing fields show as "?".
std::string format_status(const boost::json::object& status, const std::string& socket);

}  // namespace coordd
