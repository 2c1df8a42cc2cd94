#include "client/record_table.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <vector>

#include "client/agent_text.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

constexpr std::size_t kAddressesShown = 3;

// Leases carry "active" and "effective_expires_at" in the list reply.
std::string expiry_of(const json::object& record, WallTime now) {
  auto* active = record.if_contains("active");
  if (!active || !active->is_bool()) return "-";
  auto* expiry = record.if_contains("effective_expires_at");
  if (!expiry || !expiry->is_string()) return "no expiry (inactive)";
  std::string text = agent_text(expiry, "");
  std::optional<WallTime> when = parse_timestamp(expiry->get_string());
  if (active->get_bool()) {
    return when ? text + " (in " + format_time_left(*when - now) + ")" : text;
  }
  // Inactive before its expiry: a release ended it.
  return text + (when && *when > now ? " (released)" : " (expired)");
}

}  // namespace

std::string format_time_left(std::chrono::microseconds left) {
  long long s =
      std::max<long long>(0, std::chrono::duration_cast<std::chrono::seconds>(left).count());
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
  }
  return buf;
}

std::string format_record_table(const json::array& records, WallTime now) {
  using Row = std::vector<std::string>;
  std::vector<Row> rows{{"KIND", "ID", "RUN_ID@BRANCH", "ADDRESSES", "EXPIRES"}};
  for (const json::value& value : records) {
    if (!value.is_object()) continue;
    const json::object& record = value.get_object();
    auto* data_value = record.if_contains("data");
    const json::object empty;
    const json::object& data =
        data_value && data_value->is_object() ? data_value->get_object() : empty;
    std::string addresses = addresses_text(data, kAddressesShown);
    rows.push_back({agent_text(record, "kind", "?"), agent_text(record, "id", "?"),
                    agent_label(data), addresses.empty() ? "-" : addresses,
                    expiry_of(record, now)});
  }
  if (rows.size() == 1) return "(no records)\n";

  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const Row& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], display_width(row[c]));
  }
  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line.append(widths[c] - display_width(row[c]) + 2, ' ');
    }
    out += line + "\n";
  }
  std::size_t count = rows.size() - 1;
  out += std::to_string(count) + (count == 1 ? " record\n" : " records\n");
  return out;
}

}  // namespace coordd
