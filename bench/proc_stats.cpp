#include "bench/proc_stats.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace coordd::bench {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The number after "Name:" at the start of a line of a /proc status file
// (0 when absent). Anchored, as "voluntary_ctxt_switches" ends another name.
std::int64_t status_field(const std::string& status, std::string_view name) {
  std::string key = std::string("\n").append(name).append(":");
  std::size_t at = status.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoll(status.c_str() + at + key.size(), nullptr, 10);
}

}  // namespace

double ProcStats::cpu_seconds() const { return double(cpu_ticks) / double(::sysconf(_SC_CLK_TCK)); }

ProcStats read_proc_stats(pid_t pid) {
  ProcStats out;
  std::string base = "/proc/" + std::to_string(pid);
  // Fields after the command name, which may hold spaces and parentheses:
  // state is the first; utime and stime are the 12th and 13th.
  std::string stat = read_file(base + "/stat");
  std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return out;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  for (int i = 0; i < 13 && fields >> field; ++i) {
    if (i == 11 || i == 12) out.cpu_ticks += std::stoll(field);
  }
  std::string status = read_file(base + "/status");
  out.rss_bytes = status_field(status, "VmRSS") * 1024;
  out.peak_rss_bytes = status_field(status, "VmHWM") * 1024;

  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(base + "/task", ec)) {
    std::string dir = task.path().string();
    std::string task_status = read_file(dir + "/status");
    if (task_status.empty()) continue;  // the thread just ended
    ++out.threads;
    out.voluntary_switches += status_field(task_status, "voluntary_ctxt_switches");
    out.involuntary_switches += status_field(task_status, "nonvoluntary_ctxt_switches");
    out.cpu_ns += std::strtoll(read_file(dir + "/schedstat").c_str(), nullptr, 10);
  }
  return out;
}

ProcStats operator-(const ProcStats& later, const ProcStats& earlier) {
  ProcStats out = later;
  out.cpu_ticks -= earlier.cpu_ticks;
  out.cpu_ns -= earlier.cpu_ns;
  out.voluntary_switches -= earlier.voluntary_switches;
  out.involuntary_switches -= earlier.involuntary_switches;
  return out;
}

}  // namespace coordd::bench
