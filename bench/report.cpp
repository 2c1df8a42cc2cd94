#include "bench/report.hpp"

#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace coordd::bench {
namespace {

namespace json = boost::json;

std::string printf_string(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// Columns are measured in code points: every character used here (µ, ×, ≤,
// ≥, ∞) is one column wide.
std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The text after "key" and ':' on the first line starting with `key`.
std::string first_field(const std::string& text, std::string_view key) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(key)) continue;
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    return value;
  }
  return "";
}

void pretty(std::ostringstream& out, const json::value& value, int indent) {
  std::string pad(std::size_t(indent + 2), ' ');
  if (const json::object* obj = value.if_object()) {
    if (obj->empty()) {
      out << "{}";
      return;
    }
    out << "{\n";
    bool first = true;
    for (const auto& [key, member] : *obj) {
      if (!first) out << ",\n";
      first = false;
      out << pad << json::serialize(json::value(key)) << ": ";
      pretty(out, member, indent + 2);
    }
    out << "\n" << std::string(std::size_t(indent), ' ') << "}";
  } else if (const json::array* arr = value.if_array()) {
    bool scalars = std::all_of(arr->begin(), arr->end(), [](const json::value& v) {
      return !v.is_object() && !v.is_array();
    });
    if (arr->empty() || scalars) {
      out << json::serialize(value);
      return;
    }
    out << "[\n";
    for (std::size_t i = 0; i < arr->size(); ++i) {
      out << pad;
      pretty(out, (*arr)[i], indent + 2);
      out << (i + 1 < arr->size() ? ",\n" : "\n");
    }
    out << std::string(std::size_t(indent), ' ') << "]";
  } else {
    out << json::serialize(value);
  }
}

}  // namespace

std::string format_number(double value, int significant) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*g", significant, value);
  return text;
}

std::string format_us(double us) {
  // Below 999.5 "%.3g" keeps three digits; at it, it would print "1e+03".
  if (us < 999.5) return format_number(us) + " µs";
  if (us < 999.5e3) return format_number(us / 1e3) + " ms";
  return format_number(us / 1e6) + " s";
}

std::string format_rate(double per_second) {
  if (per_second >= 1e6) return printf_string("%.2fM/s", per_second / 1e6);
  if (per_second >= 1e3) return printf_string("%.1fk/s", per_second / 1e3);
  return printf_string("%.0f/s", per_second);
}

std::string format_bytes(double bytes) {
  if (bytes < 1024) return printf_string("%.0f B", bytes);
  if (bytes < 1024 * 1024) return printf_string("%.1f KiB", bytes / 1024);
  return printf_string("%.1f MiB", bytes / (1024 * 1024));
}

std::string format_ratio(double numerator, double denominator) {
  if (denominator == 0) return "∞";
  double r = numerator / denominator;
  return (r >= 100 ? printf_string("%.0f", r) : format_number(r)) + "×";
}

std::string format_table(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> cells = {
      {"benchmark", "coordd", "peer", "ratio", "target", "met?"}};
  for (const Row& row : rows) {
    cells.push_back({row.benchmark, row.coordd, row.peer, row.ratio, row.target,
                     row.met ? (*row.met ? "yes" : "NO") : "-"});
  }
  std::vector<std::size_t> widths(cells[0].size(), 0);
  for (const auto& line : cells) {
    for (std::size_t c = 0; c < line.size(); ++c) {
      widths[c] = std::max(widths[c], display_width(line[c]));
    }
  }
  std::ostringstream out;
  for (std::size_t r = 0; r < cells.size(); ++r) {
    for (std::size_t c = 0; c < cells[r].size(); ++c) {
      if (c > 0) out << " | ";
      out << cells[r][c];
      if (c + 1 < cells[r].size()) {
        out << std::string(widths[c] - display_width(cells[r][c]), ' ');
      }
    }
    out << "\n";
    if (r == 0) {
      for (std::size_t c = 0; c < widths.size(); ++c) {
        out << (c > 0 ? "-|-" : "") << std::string(widths[c], '-');
      }
      out << "\n";
    }
  }
  return out.str();
}

json::array rows_json(const std::vector<Row>& rows) {
  json::array out;
  for (const Row& row : rows) {
    json::object entry;
    entry["benchmark"] = row.benchmark;
    entry["coordd"] = row.coordd;
    entry["peer"] = row.peer;
    entry["ratio"] = row.ratio;
    entry["target"] = row.target;
    entry["met"] = row.met ? json::value(*row.met) : json::value(nullptr);
    entry["numbers"] = row.numbers;
    out.push_back(std::move(entry));
  }
  return out;
}

json::object machine_facts() {
  json::object out;
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  out["date"] = date;
  out["nproc"] = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::string cpuinfo = read_file("/proc/cpuinfo");
  out["cpu_model"] = first_field(cpuinfo, "model name");
  utsname uts{};
  if (::uname(&uts) == 0) {
    out["kernel"] = std::string(uts.sysname) + " " + uts.release;
    out["kernel_version"] = uts.version;
    out["arch"] = uts.machine;
  }
  out["mem_total"] = first_field(read_file("/proc/meminfo"), "MemTotal");
  std::string load = read_file("/proc/loadavg");
  out["loadavg"] = load.substr(0, load.find('\n'));
  return out;
}

std::string file_system_of(const std::string& path) {
  struct statfs info {};
  if (::statfs(path.c_str(), &info) != 0) return "unknown";
  switch (static_cast<unsigned long>(info.f_type)) {
    case 0x01021994:
      return "tmpfs";
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794C7630:
      return "overlayfs";
    default:
      break;
  }
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(info.f_type));
  return hex;
}

std::string pretty_json(const json::value& value) {
  std::ostringstream out;
  pretty(out, value, 0);
  out << "\n";
  return out.str();
}

void write_atomically(const std::string& path, const std::string& text) {
  std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + temp);
  }
  std::filesystem::rename(temp, target);
}

}  // namespace coordd::bench
