// coordctl top's screen: a model laid out for 80×24 and larger terminals,
// every line within the width and never more lines than rows.
#include "client/top_view.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <string>

#include "client/agent_text.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using coordd::render_top;
using coordd::TopClock;
using coordd::TopModel;
using coordd::TopScreen;

namespace {

const TopClock::time_point t0{std::chrono::hours(1000)};
const coordd::WallTime now = *coordd::parse_timestamp("2026-03-30T15:00:00+00:00");

// A model with `agents` agents, `leases` leases and `lines` events and messages.
TopModel busy_model(int agents, int leases, int lines) {
  TopModel model;
  model.set_daemon("coordd/0.1.0", "/tmp/coordd.sock");
  model.set_connected(true);
  json::array list;
  for (int i = 0; i < agents; ++i) {
    list.push_back(
        {{"agent", "worker-" + std::to_string(i)}, {"connected", i % 2 == 0}, {"waiting", i}});
  }
  model.set_status({{"agents", {{"list", list}}}});
  json::array records;
  for (int i = 0; i < leases; ++i) {
    records.push_back(
        {{"kind", "reservation"},
         {"id", "res-" + std::to_string(i)},
         {"active", true},
         {"effective_expires_at", "2026-03-30T15:04:12+00:00"},
         {"data", {{"run_id", "agent-42"}, {"addresses", {"billing.py::compute_total"}}}}});
  }
  model.set_leases(records);
  for (int i = 0; i < lines; ++i) {
    model.on_line({{"type", "event"},
                   {"seq", 2 * i + 1},
                   {"event_type", "added"},
                   {"kind", "intent"},
                   {"id", "i" + std::to_string(i)},
                   {"timestamp", "2026-03-30T14:59:00+00:00"}},
                  t0);
    model.on_line({{"type", "message"},
                   {"seq", 2 * i + 2},
                   {"from", "w1"},
                   {"to", "orch"},
                   {"timestamp", "2026-03-30T14:59:01+00:00"},
                   {"message",
                    {{"kind", "progress_report"},
                     {"summary", "message " + std::to_string(i) + " " + std::string(40, 'x')}}}},
                  t0);
  }
  return model;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

bool fits(const std::vector<std::string>& lines, TopScreen screen) {
  if (int(lines.size()) > screen.rows) return false;
  for (const std::string& line : lines) {
    if (int(coordd::display_width(line)) > screen.columns) return false;
    if (line.find('\n') != std::string::npos) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("at 80×24 every section shows, every line fits, and the last line says how to quit") {
  TopScreen screen{24, 80};
  std::vector<std::string> lines = render_top(busy_model(3, 2, 30), screen, now, t0);
  CHECK(lines.size() == 24);
  CHECK(fits(lines, screen));
  std::string text = joined(lines);
  CHECK(text.find("coordctl top  15:00:00 UTC  coordd/0.1.0 at /tmp/coordd.sock\n") == 0);
  CHECK(text.find("agents 2 connected, 1 away, 3 message(s) waiting │ 2 active lease(s)") !=
        std::string::npos);
  CHECK(text.find("  worker-1                 away       1 waiting") != std::string::npos);
  CHECK(text.find("  agent-42         4m12s   res-0          billing.py::compute_total") !=
        std::string::npos);
  CHECK(text.find("Latest events — ") != std::string::npos);
  CHECK(text.find("Latest messages — ") != std::string::npos);
  CHECK(lines.back() == "q quits");
}

TEST_CASE("a line too wide is cut with an ellipsis at the width, never wrapped") {
  std::vector<std::string> lines = render_top(busy_model(1, 1, 1), {24, 80}, now, t0);
  bool cut = false;
  for (const std::string& line : lines) {
    if (line.find("message 0 ") != std::string::npos) {
      CHECK(coordd::display_width(line) == 80);
      CHECK(line.ends_with("…"));
      cut = true;
    }
  }
  CHECK(cut);
}

TEST_CASE("a larger terminal shows more of each list and whole long lines") {
  TopScreen small{24, 80}, large{40, 120};
  std::string at_small = joined(render_top(busy_model(3, 2, 12), small, now, t0));
  std::vector<std::string> lines = render_top(busy_model(3, 2, 12), large, now, t0);
  CHECK(lines.size() == 40);
  CHECK(fits(lines, large));
  std::string at_large = joined(lines);
  CHECK(at_small.find("message 5 ") == std::string::npos);
  CHECK(at_large.find("message 5 ") != std::string::npos);
  CHECK(at_large.find("message 0 " + std::string(40, 'x')) != std::string::npos);
}

TEST_CASE("sections with little to show give their rows to the others") {
  std::string text = joined(render_top(busy_model(0, 0, 30), {24, 80}, now, t0));
  CHECK(text.find("Agents\n  none\n") != std::string::npos);
  CHECK(text.find("Leases by agent (run_id, time left, id, addresses)\n  none\n") !=
        std::string::npos);
  CHECK(text.find("Latest events — 7 of 30") != std::string::npos);
  CHECK(text.find("Latest messages — 7 of 30") != std::string::npos);
}

TEST_CASE("a tiny terminal gets what fits and no more") {
  for (TopScreen screen : {TopScreen{1, 10}, TopScreen{5, 20}, TopScreen{0, 0}}) {
    CHECK(fits(render_top(busy_model(3, 2, 30), screen, now, t0), screen));
  }
}

TEST_CASE("while coordd does not answer the title says so and the last view stays") {
  TopModel model = busy_model(1, 1, 1);
  model.set_connected(false, "coordd not answering — reconnecting");
  std::vector<std::string> lines = render_top(model, {24, 80}, now, t0);
  CHECK(lines[0] == "coordctl top  15:00:00 UTC  coordd not answering — reconnecting");
  CHECK(joined(lines).find("res-0") != std::string::npos);
}

TEST_CASE("time left counts down with the clock and stops at 0s") {
  TopModel model = busy_model(0, 1, 0);
  CHECK(joined(render_top(model, {24, 80}, now + 12s, t0)).find(" 4m00s ") != std::string::npos);
  CHECK(joined(render_top(model, {24, 80}, now + 1h, t0)).find(" 0s ") != std::string::npos);
}

TEST_CASE("control characters in agent names, leases and the socket never reach the screen") {
  TopModel model;
  model.set_daemon("coordd/0.1.0\x1b[2J", "/tmp/\x1b]0;owned\a/coordd.sock");
  model.set_connected(true);
  json::object agent{{"agent", "w1\x1b[31m"}, {"connected", true}};
  model.set_status({{"agents", {{"list", json::array{agent}}}}});
  json::object lease{{"kind", "reservation"},
                     {"id", "res\x07-1"},
                     {"active", true},
                     {"data", {{"run_id", "agent\x1b[1m-42"}}}};
  model.set_leases(json::array{lease});
  std::string text = joined(render_top(model, {24, 80}, now, t0));
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\x07') == std::string::npos);
  CHECK(text.find("  w1 ") != std::string::npos);
  CHECK(text.find("  agent-42 ") != std::string::npos);
}
