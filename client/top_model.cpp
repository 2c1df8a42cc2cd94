#include "client/top_model.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

#include "client/agent_text.hpp"
#include "proto/display.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

std::int64_t second_of(TopClock::time_point at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

// "HH:MM:SS" of an ISO timestamp in UTC, "--:--:--" when it does not parse.
std::string clock_time(const json::object& line) {
  auto* value = line.if_contains("timestamp");
  std::optional<WallTime> at;
  if (value && value->is_string()) at = parse_timestamp(value->get_string());
  if (!at) return "--:--:--";
  auto day = std::chrono::floor<std::chrono::days>(*at);
  std::chrono::hh_mm_ss<std::chrono::seconds> time(
      std::chrono::floor<std::chrono::seconds>(*at - day));
  char text[16];
  std::snprintf(text, sizeof text, "%02d:%02d:%02d", int(time.hours().count()),
                int(time.minutes().count()), int(time.seconds().count()));
  return text;
}

const json::object* object_at(const json::object& obj, std::string_view key) {
  auto* value = obj.if_contains(key);
  return value ? value->if_object() : nullptr;
}

std::uint64_t seq_of(const json::object& line) {
  auto* value = line.if_contains("seq");
  return value && value->is_number() ? value->to_number<std::uint64_t>() : 0;
}

// A field's value as sent: a string as is, any other value serialized;
// `fallback` when it is missing or null.
std::string raw_text(const json::object& obj, std::string_view key, std::string_view fallback) {
  auto* value = obj.if_contains(key);
  if (!value || value->is_null()) return std::string(fallback);
  if (value->is_string()) return std::string(value->get_string());
  return json::serialize(*value);
}

json::value value_at(const json::object& obj, std::string_view key) {
  auto* value = obj.if_contains(key);
  return value ? *value : json::value(nullptr);
}

// What a message line shows after its kind, as sent: the first of its
// summary, content, reason and text fields that is a string (`named` set),
// else the rest of the message as JSON, else nothing.
struct Gist {
  std::string text;
  bool named = false;
};

std::optional<Gist> gist_of(const json::object& message) {
  for (std::string_view key : {"summary", "content", "reason", "text"}) {
    if (auto* value = message.if_contains(key); value && value->is_string()) {
      return Gist{std::string(value->get_string()), true};
    }
  }
  json::object rest = message;
  rest.erase("kind");
  rest.erase("agent_id");
  if (rest.empty()) return std::nullopt;
  return Gist{json::serialize(rest), false};
}

bool is_lease_kind(std::string_view kind) {
  return kind == "reservation" || kind == "claim" || kind == "heartbeat" || kind == "release";
}

}  // namespace

void RateWindow::add(TopClock::time_point at) {
  std::int64_t second = second_of(at);
  if (!buckets_.empty() && buckets_.back().first == second) {
    ++buckets_.back().second;
  } else if (buckets_.empty() || buckets_.back().first < second) {
    buckets_.emplace_back(second, 1);
  } else {
    ++buckets_.back().second;  // the clock never goes back; count it as now
  }
  while (buckets_.front().first <= second - window_.count()) buckets_.pop_front();
}

std::uint64_t RateWindow::count(TopClock::time_point now) const {
  std::int64_t oldest = second_of(now) - window_.count();
  std::uint64_t n = 0;
  for (const auto& [second, arrivals] : buckets_) {
    if (second > oldest) n += arrivals;
  }
  return n;
}

double RateWindow::per_second(TopClock::time_point now) const {
  return double(count(now)) / double(window_.count());
}

std::string message_summary(const json::object& message) {
  std::string kind = agent_text(message, "kind", "message");
  std::optional<Gist> gist = gist_of(message);
  if (!gist) return kind;
  return kind + (gist->named ? ": " : " ") + strip_control(gist->text);
}

void TopModel::set_daemon(std::string server, std::string socket) {
  server_ = std::move(server);
  socket_ = std::move(socket);
  ++version_;
}

void TopModel::set_connected(bool connected, std::string problem) {
  if (connected == connected_ && problem == problem_) return;
  connected_ = connected;
  problem_ = std::move(problem);
  ++version_;
}

void TopModel::set_status(const json::object& status) {
  const json::object* agents = object_at(status, "agents");
  auto* list = agents ? agents->if_contains("list") : nullptr;
  if (!list || !list->is_array()) return;
  std::vector<TopAgent> out;
  for (const json::value& item : list->get_array()) {
    const json::object* entry = item.if_object();
    if (!entry) continue;
    TopAgent agent;
    agent.id = raw_text(*entry, "agent", "?");
    auto* connected = entry->if_contains("connected");
    agent.connected = connected && *connected == true;
    if (auto* waiting = entry->if_contains("waiting"); waiting && waiting->is_number()) {
      agent.waiting = waiting->to_number<std::uint64_t>();
    }
    out.push_back(std::move(agent));
  }
  // Connected first, then away; by id within each.
  std::stable_sort(out.begin(), out.end(), [](const TopAgent& a, const TopAgent& b) {
    return a.connected != b.connected ? a.connected : a.id < b.id;
  });
  agents_from_status_ = true;
  auto same = [](const TopAgent& a, const TopAgent& b) {
    return a.id == b.id && a.connected == b.connected && a.waiting == b.waiting;
  };
  if (std::equal(out.begin(), out.end(), agents_.begin(), agents_.end(), same)) return;
  agents_ = std::move(out);
  ++version_;
}

void TopModel::set_leases(const json::array& records) {
  std::vector<TopLease> out;
  for (const json::value& item : records) {
    const json::object* record = item.if_object();
    if (!record) continue;
    std::string kind = agent_text(*record, "kind", "?");
    auto* active = record->if_contains("active");
    if ((kind != "reservation" && kind != "claim") || !active || *active != true) continue;
    TopLease lease;
    lease.kind = kind;
    lease.id = raw_text(*record, "id", "?");
    if (const json::object* data = object_at(*record, "data")) {
      lease.run_id = raw_text(*data, "run_id", "?");
      lease.addresses = addresses_text(*data, 3);
      lease.address_list = value_at(*data, "addresses");
    } else {
      lease.run_id = "?";
    }
    if (auto* expires = record->if_contains("effective_expires_at");
        expires && expires->is_string()) {
      lease.expires = parse_timestamp(expires->get_string());
    }
    out.push_back(std::move(lease));
  }
  std::stable_sort(out.begin(), out.end(), [](const TopLease& a, const TopLease& b) {
    if (a.run_id != b.run_id) return a.run_id < b.run_id;
    return a.expires.value_or(kLastWallTime) < b.expires.value_or(kLastWallTime);
  });
  auto same = [](const TopLease& a, const TopLease& b) {
    return a.run_id == b.run_id && a.kind == b.kind && a.id == b.id &&
           a.address_list == b.address_list && a.expires == b.expires;
  };
  if (std::equal(out.begin(), out.end(), leases_.begin(), leases_.end(), same)) return;
  leases_ = std::move(out);
  ++version_;
}

bool TopModel::on_line(const json::object& line, TopClock::time_point now) {
  auto* type = line.if_contains("type");
  if (!type || !type->is_string()) return false;
  std::uint64_t seq = seq_of(line);
  bool live = seq > live_after_;
  if (type->get_string() == "event") {
    std::string event_type = agent_text(line, "event_type", "?");
    if (event_type == "snapshot") return false;
    std::string kind = agent_text(line, "kind", "?");
    std::string text =
        pad_right(event_type, 8) + " " + pad_right(kind, 11) + " " + agent_text(line, "id", "?");
    json::object fields{{"event_type", value_at(line, "event_type")},
                        {"kind", value_at(line, "kind")},
                        {"id", value_at(line, "id")}};
    if (const json::object* data = object_at(line, "data"); data && data->contains("run_id")) {
      text += "  " + agent_text(*data, "run_id", "?");
      fields["run_id"] = data->at("run_id");
    }
    keep(events_,
         {seq, clock_time(line), std::move(text), value_at(line, "timestamp"), std::move(fields)});
    if (live) {
      event_rate_.add(now);
      event_minute_.add(now);
    }
    return is_lease_kind(kind);
  }
  if (type->get_string() == "message") {
    std::string from = raw_text(line, "from", "?");
    std::string to = raw_text(line, "to", "?");
    const json::object* message = object_at(line, "message");
    std::string text = strip_control(from) + " → " +
                       (to == "*" ? std::string("all") : strip_control(to)) + "  " +
                       (message ? message_summary(*message) : std::string("?"));
    json::object fields{{"from", value_at(line, "from")}, {"to", value_at(line, "to")}};
    fields["kind"] = message ? value_at(*message, "kind") : json::value(nullptr);
    std::optional<Gist> gist = message ? gist_of(*message) : std::nullopt;
    fields["summary"] = gist ? json::value(gist->text) : json::value(nullptr);
    keep(messages_,
         {seq, clock_time(line), std::move(text), value_at(line, "timestamp"), std::move(fields)});
    if (live) {
      message_rate_.add(now);
      message_minute_.add(now);
    }
    if (!agents_from_status_) {
      note_agent(from);
      if (to != "*") note_agent(to);
    }
  }
  return false;
}

void TopModel::note_agent(const std::string& id) {
  if (id == "?" || id.empty()) return;
  for (const TopAgent& agent : agents_) {
    if (agent.id == id) return;
  }
  agents_.push_back({id, false, std::nullopt});
  ++version_;
}

void TopModel::keep(std::deque<TopLine>& lines, TopLine line) {
  last_seq_ = std::max(last_seq_, line.seq);
  lines.push_front(std::move(line));
  if (lines.size() > kKeptLines) lines.pop_back();
  ++version_;
}

}  // namespace coordd
