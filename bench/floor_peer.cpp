#include "bench/floor_peer.hpp"

#include <sstream>
#include <stdexcept>

namespace coordd::bench {
namespace {

using namespace std::chrono_literals;

support::ChildOptions collect_stdout(const std::string& log) {
  support::ChildOptions options = child_options(log);
  options.stdout_to = support::Output::kCollect;
  return options;
}

bool said(const ChildProcess& child, std::string_view word) {
  for (const std::string& line : child.lines()) {
    if (line.starts_with(word)) return true;
  }
  return false;
}

}  // namespace

FloorPeer::FloorPeer(const std::string& binary, const std::filesystem::path& dir,
                     std::size_t changes, const std::string& log)
    : child_({binary, dir.string(), std::to_string(changes)}, collect_stdout(log)) {
  if (!child_.read_until([&] { return said(child_, "watching"); }, 30s)) {
    throw std::runtime_error(binary + " did not start watching " + dir.string() + " (see " + log +
                             ")");
  }
}

std::optional<FloorPeer::Tally> FloorPeer::finish(std::chrono::milliseconds within) {
  bool ended =
      child_.read_until([&] { return said(child_, "done ") || said(child_, "overflow"); }, within);
  if (!ended) return std::nullopt;
  Tally tally;
  for (const std::string& line : child_.lines()) {
    std::istringstream fields(line);
    std::string word;
    fields >> word;
    if (word == "overflow") {
      tally.overflowed = true;
      fields >> tally.changes;
    } else if (word == "done") {
      fields >> tally.changes >> tally.read_ok >> tally.open_failed >> tally.bytes >>
          tally.first_read_ns >> tally.last_read_ns >> tally.cpu_ns;
      if (!fields) throw std::runtime_error("inotify_floor printed a bad tally: " + line);
    }
  }
  child_.wait(5s);
  return tally;
}

ScanFloor scan_floor(const std::string& binary, const std::filesystem::path& dir,
                     std::chrono::milliseconds within) {
  ChildProcess child({binary, "--scan", dir.string()}, collect_stdout(""));
  std::optional<ExitStatus> exit = child.wait(within);
  if (!exit || exit->shell_code() != 0 || !said(child, "done ")) {
    throw std::runtime_error(binary + " --scan " + dir.string() + " failed");
  }
  ScanFloor out;
  for (const std::string& line : child.lines()) {
    std::istringstream fields(line);
    std::string word;
    if (fields >> word && word == "done") fields >> out.files >> out.bytes;
  }
  out.ms = std::chrono::duration<double, std::milli>(exit->reaped_at - child.started_at()).count();
  return out;
}

}  // namespace coordd::bench
