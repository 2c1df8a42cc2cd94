#include "tests/soak/process_probe.hpp"

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace coordd::soak {
namespace {

namespace fs = std::filesystem;

fs::path proc_dir(pid_t pid) { return fs::path("/proc") / std::to_string(pid); }

}  // namespace

void allow_descriptors(std::size_t count) {
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur >= count) return;
  limit.rlim_cur = std::min<rlim_t>(count, limit.rlim_max);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
  REQUIRE_MESSAGE(limit.rlim_cur >= count,
                  "RLIMIT_NOFILE's hard limit " << limit.rlim_max << " is below " << count);
}

std::optional<std::size_t> resident_bytes(pid_t pid) {
  std::ifstream status(proc_dir(pid) / "status");
  std::string line;
  while (std::getline(status, line)) {
    // "VmRSS:	    5124 kB"
    if (!line.starts_with("VmRSS:")) continue;
    std::size_t kib = 0;
    if (std::sscanf(line.c_str() + 6, "%zu", &kib) != 1) return std::nullopt;
    return kib * 1024;
  }
  return std::nullopt;
}

std::optional<std::size_t> open_fds(pid_t pid) {
  std::error_code ec;
  fs::directory_iterator entries(proc_dir(pid) / "fd", ec);
  if (ec) return std::nullopt;
  std::size_t count = 0;
  for (auto it = entries; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++count;
  }
  return count;
}

std::string fd_summary(pid_t pid) {
  std::map<std::string, std::size_t> sorts;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(proc_dir(pid) / "fd", ec)) {
    std::error_code link_ec;
    std::string target = fs::read_symlink(entry.path(), link_ec).string();
    // "socket:[123]" and "pipe:[45]" by their sort; anon inodes by name; paths as files.
    if (link_ec)
      target = "?";
    else if (target.starts_with("/"))
      target = "file";
    else if (!target.starts_with("anon_inode:"))
      target = target.substr(0, target.find(':'));
    ++sorts[target];
  }
  std::string out;
  for (const auto& [sort, count] : sorts) {
    out += (out.empty() ? "" : ", ") + std::to_string(count) + " " + sort;
  }
  return out;
}

std::string mib(std::size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", double(bytes) / double(kMiB));
  return text;
}

std::size_t RssSamples::max_of_third(std::size_t third) const {
  std::size_t begin = bytes.size() * third / 3, end = bytes.size() * (third + 1) / 3;
  if (begin >= end) return 0;
  return *std::max_element(bytes.begin() + long(begin), bytes.begin() + long(end));
}

std::string RssSamples::describe() const {
  std::string out = "RSS max per third: " + mib(max_of_third(0)) + ", " + mib(max_of_third(1)) +
                    ", " + mib(max_of_third(2)) + "; every 5 s:";
  std::size_t every = std::max<std::size_t>(1, std::size_t(std::chrono::seconds(5) / interval));
  for (std::size_t i = 0; i < bytes.size(); i += every) out += " " + mib(bytes[i]);
  return out;
}

RssSamples sample_rss_until(pid_t pid, std::chrono::steady_clock::time_point end,
                            std::chrono::milliseconds interval) {
  RssSamples samples{.interval = interval};
  for (auto next = std::chrono::steady_clock::now(); next < end; next += interval) {
    std::this_thread::sleep_until(next);
    std::optional<std::size_t> rss = resident_bytes(pid);
    if (!rss) {
      samples.process_gone = true;
      break;
    }
    samples.bytes.push_back(*rss);
  }
  return samples;
}

}  // namespace coordd::soak
