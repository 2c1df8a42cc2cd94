#include "client/top_view.hpp"

#include <algorithm>
#include <cstdio>

#include "client/agent_text.hpp"
#include "client/record_table.hpp"
#include "proto/display.hpp"

namespace coordd {

namespace {

struct Section {
  std::string title;
  std::vector<std::string> items;
  std::size_t shown = 0;  // item lines the layout gives it
};

std::string rate_text(const RateWindow& rate, const RateWindow& minute, TopClock::time_point now) {
  char text[64];
  std::snprintf(text, sizeof text, "%.1f/s, %llu/min", rate.per_second(now),
                static_cast<unsigned long long>(minute.count(now)));
  return text;
}

std::vector<std::string> agent_items(const TopModel& model) {
  std::vector<std::string> out;
  for (const TopAgent& agent : model.agents()) {
    std::string waiting =
        agent.waiting ? std::to_string(*agent.waiting) + " waiting" : std::string("? waiting");
    out.push_back("  " + pad_right(strip_control(agent.id), 24) + " " +
                  pad_right(agent.connected ? "connected" : (agent.waiting ? "away" : "?"), 10) +
                  " " + waiting);
  }
  return out;
}

std::vector<std::string> lease_items(const TopModel& model, WallTime now) {
  std::vector<std::string> out;
  for (const TopLease& lease : model.leases()) {
    std::string left = lease.expires ? format_time_left(*lease.expires - now) : std::string("?");
    out.push_back("  " + pad_right(strip_control(lease.run_id), 16) + " " + pad_right(left, 7) +
                  " " + pad_right(strip_control(lease.id), 14) + " " + lease.addresses);
  }
  return out;
}

std::vector<std::string> line_items(const std::deque<TopLine>& lines) {
  std::vector<std::string> out;
  for (const TopLine& line : lines) out.push_back("  " + line.time + "  " + line.text);
  return out;
}

// Gives each section its title and one line, then one more line each in
// turn to those with more to show, while rows remain. A section that gets
// no room is left out.
void lay_out(std::vector<Section>& sections, int rows) {
  int left = rows;
  for (Section& section : sections) {
    if (left < 2) break;
    section.shown = 1;
    left -= 2;
  }
  for (bool grew = true; grew && left > 0;) {
    grew = false;
    for (Section& section : sections) {
      if (left == 0 || section.shown == 0 || section.shown >= section.items.size()) continue;
      ++section.shown;
      --left;
      grew = true;
    }
  }
}

}  // namespace

std::string fit_width(const std::string& text, std::size_t width) {
  if (display_width(text) <= width) return text;
  if (width == 0) return "";
  std::string out;
  std::size_t points = 0;
  for (char c : text) {
    bool starts_point = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts_point && ++points == width) break;
    out += c;
  }
  return out + "…";
}

std::vector<std::string> render_top(const TopModel& model, TopScreen screen, WallTime now,
                                    TopClock::time_point steady_now) {
  std::size_t connected = 0, away = 0;
  std::uint64_t waiting = 0;
  for (const TopAgent& agent : model.agents()) {
    (agent.connected ? connected : away) += 1;
    waiting += agent.waiting.value_or(0);
  }
  std::string when = format_timestamp(std::chrono::floor<std::chrono::seconds>(now));
  std::vector<std::string> head;
  // The socket path, the longest and least read, goes last: it is what a
  // narrow terminal cuts.
  head.push_back("coordctl top  " + when.substr(11, 8) + " UTC  " +
                 (model.connected()
                      ? strip_control(model.server()) + " at " + strip_control(model.socket())
                      : model.problem()));
  head.push_back("agents " + std::to_string(connected) + " connected, " + std::to_string(away) +
                 " away, " + std::to_string(waiting) + " message(s) waiting │ " +
                 std::to_string(model.leases().size()) + " active lease(s)");
  head.push_back("events " + rate_text(model.event_rate(), model.event_minute(), steady_now) +
                 " │ messages " +
                 rate_text(model.message_rate(), model.message_minute(), steady_now));

  std::vector<Section> sections{
      {"Agents", agent_items(model)},
      {"Leases by agent (run_id, time left, id, addresses)", lease_items(model, now)},
      {"Latest events", line_items(model.events())},
      {"Latest messages", line_items(model.messages())},
  };
  int footer = 1;
  lay_out(sections, std::max(0, screen.rows - int(head.size()) - footer));

  std::vector<std::string> lines = head;
  for (const Section& section : sections) {
    if (section.shown == 0) continue;
    std::string title = section.title;
    std::size_t total = section.items.size();
    if (total > section.shown) {
      title += " — " + std::to_string(section.shown) + " of " + std::to_string(total);
    } else if (total > 0) {
      title += " — " + std::to_string(total);
    }
    lines.push_back(title);
    if (total == 0) lines.push_back("  none");
    for (std::size_t i = 0; i < std::min(section.shown, total); ++i) {
      lines.push_back(section.items[i]);
    }
  }
  while (int(lines.size()) < screen.rows - footer) lines.push_back("");
  if (screen.rows > int(head.size())) lines.push_back("q quits");
  if (int(lines.size()) > screen.rows) lines.resize(std::max(0, screen.rows));
  for (std::string& line : lines) line = fit_width(line, std::size_t(std::max(0, screen.columns)));
  return lines;
}

}  // namespace coordd
