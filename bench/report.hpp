// The summary of a benchmark run: table rows (benchmark | coordd | peer |
// ratio | target | met?), the machine facts that make figures comparable,
// number formatting, and the JSON written to bench/results/latest.json.
// Pure functions except machine_facts() (reads /proc) and write_atomically.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace coordd::bench {

// One line of the table, with its figures as numbers for the JSON.
struct Row {
  std::string benchmark;
  std::string coordd;  // formatted figures
  std::string peer;
  std::string ratio;
  std::string target;
  std::optional<bool> met;      // nullopt: informational, or not measured
  boost::json::object numbers;  // coordd, peer, ratio, unit... as numbers
};

// "45.2 µs", "3.10 ms", "1.52 s" from microseconds.
std::string format_us(double us);
// "12.3k/s", "1.20M/s".
std::string format_rate(double per_second);
// "512 B", "3.4 MiB".
std::string format_bytes(double bytes);
// "1.42×", "1234×"; "∞" when the denominator is 0.
std::string format_ratio(double numerator, double denominator);
// printf-style "%.*g" shortcut.
std::string format_number(double value, int significant = 3);

// The rows as an aligned text table.
std::string format_table(const std::vector<Row>& rows);
boost::json::array rows_json(const std::vector<Row>& rows);

// Date (UTC), nproc, CPU model, kernel, memory, load averages.
boost::json::object machine_facts();
// The file system type holding `path` ("tmpfs", "ext4", ...; hex magic otherwise).
std::string file_system_of(const std::string& path);
std::string pretty_json(const boost::json::value& value);
// Writes `text` to `path` through `path`.tmp and a rename.
void write_atomically(const std::string& path, const std::string& text);

}  // namespace coordd::bench
