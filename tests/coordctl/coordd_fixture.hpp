// What the coordctl tests stand on: a temporary repository whose records the
// test writes the way agents do (temp file + rename, in place, delete), a
// real coordd serving it on a private socket, the programs under test run
// with their output collected (tests/support's ChildProcess), and their paths
// (COORDCTL_BIN and COORDD_BIN, set by meson). One thread.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/program_paths.hpp"
#include "tests/support/workspace.hpp"

namespace coordctl_test {

using namespace std::chrono_literals;
using coordd::support::ChildProcess;
using coordd::support::coordctl_binary;
using coordd::support::coordd_binary;
using coordd::support::ExitStatus;

// How these tests run a program: stdin /dev/null, stdout and stderr
// collected, SIGKILLed if still running when dropped. `env` entries
// "NAME=value" set a variable and "NAME" removes it from ours.
coordd::support::ChildOptions captured(std::vector<std::string> env = {});

struct RunResult {
  ExitStatus status;
  std::vector<std::string> lines;
  std::string out;
  std::string err;
};

// Runs a program to its end (failing the test if it takes longer than `within`).
RunResult run_to_end(std::vector<std::string> argv, std::vector<std::string> env = {},
                     std::chrono::milliseconds within = 20s);

// A fresh temporary workspace holding <dir>/repo/.muse/coordination/ and a
// private place for sockets; removed with everything in it on destruction.
class TempRepo {
 public:
  TempRepo();

  const std::string& root() const { return root_; }
  // Where this repo's coordd listens (it creates the directory 0700).
  const std::string& socket() const { return socket_; }
  // A path where nothing listens: coordctl then runs standalone.
  std::string no_daemon_socket() const { return dir_ + "/nobody/coordd.sock"; }

  // <root>/.muse/coordination/<kind_dir>/<id>.json, written as agents do:
  // to a dot-named temp file renamed into place.
  void write(const std::string& kind_dir, const std::string& id,
             const boost::json::object& data) const;
  // The same, with the file's text as given (numbers Boost.JSON cannot hold).
  void write_text(const std::string& kind_dir, const std::string& id,
                  const std::string& text) const;
  // The same file rewritten in place (open, truncate, write, close).
  void write_in_place(const std::string& kind_dir, const std::string& id,
                      const boost::json::object& data) const;
  void remove(const std::string& kind_dir, const std::string& id) const;

 private:
  std::string path_of(const std::string& kind_dir, const std::string& id) const;

  coordd::support::Workspace workspace_;
  std::string dir_;
  std::string root_;
  std::string socket_;
};

// coordd on a TempRepo, ready (listening) once constructed; stopped with
// SIGTERM on destruction.
class RunningCoordd {
 public:
  // `flags` are added to coordd's command line (limits, grace periods).
  explicit RunningCoordd(const TempRepo& repo, std::vector<std::string> flags = {});
  ~RunningCoordd();
  RunningCoordd(const RunningCoordd&) = delete;
  RunningCoordd& operator=(const RunningCoordd&) = delete;

  // Sends `signal` (SIGTERM, SIGKILL) and waits for the daemon to exit.
  void stop_with(int signal);
  // Starts a new daemon run on the same repository and socket; returns once
  // it accepts connections.
  void start();

  // Whether coordd logs `text` within `within` (reading its stderr meanwhile).
  bool logs(std::string_view text, std::chrono::milliseconds within) {
    return process_->read_stderr_until(text, within);
  }

 private:
  const TempRepo& repo_;
  std::vector<std::string> flags_;
  std::unique_ptr<ChildProcess> process_;
};

// Now + `offset` as Python's isoformat() writes an aware UTC time.
std::string iso_time_in(std::chrono::milliseconds offset);

// A reservation record as Muse writes one.
boost::json::object reservation(const std::string& id, const std::string& run_id,
                                const std::string& branch, std::vector<std::string> addresses,
                                std::chrono::milliseconds ttl = std::chrono::hours(1));

// A 64-hex-digit id, like Muse's content-addressed ids; distinct per `seed`.
std::string long_id(char seed);

// `coordctl <args...>` as an argv.
std::vector<std::string> coordctl(std::vector<std::string> args);

// The parsed JSON object of an output line (fails the test if it is not one).
boost::json::object parse_line(const std::string& line);

}  // namespace coordctl_test
