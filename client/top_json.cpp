#include "client/top_json.hpp"

#include <boost/json.hpp>

namespace coordd {
namespace json = boost::json;

namespace {

// "unknown": an agent only seen in messages (an older coordd lists none).
const char* agent_state(const TopAgent& agent) {
  if (agent.connected) return "connected";
  return agent.waiting ? "away" : "unknown";
}

json::array agents_json(const TopModel& model) {
  json::array out;
  for (const TopAgent& agent : model.agents()) {
    out.push_back(
        {{"name", agent.id},
         {"state", agent_state(agent)},
         {"waiting", agent.waiting ? json::value(*agent.waiting) : json::value(nullptr)}});
  }
  return out;
}

json::array leases_json(const TopModel& model, WallTime now) {
  json::array out;
  for (const TopLease& lease : model.leases()) {
    json::object item{{"run_id", lease.run_id}, {"kind", lease.kind},
                      {"id", lease.id},         {"addresses", lease.address_list},
                      {"expires_at", nullptr},  {"seconds_left", nullptr}};
    if (lease.expires) {
      item["expires_at"] = format_timestamp(*lease.expires);
      item["seconds_left"] = std::chrono::floor<std::chrono::seconds>(*lease.expires - now).count();
    }
    out.push_back(std::move(item));
  }
  return out;
}

json::array lines_json(const std::deque<TopLine>& lines) {
  json::array out;
  for (const TopLine& line : lines) {
    json::object item{{"seq", line.seq}, {"timestamp", line.timestamp}};
    for (const auto& field : line.fields) item[field.key()] = field.value();
    out.push_back(std::move(item));
  }
  return out;
}

json::value rates_json(const TopModel& model, std::optional<TopClock::time_point> at) {
  if (!at) return nullptr;
  return json::object{{"events_last_10s", model.event_rate().count(*at)},
                      {"events_last_minute", model.event_minute().count(*at)},
                      {"messages_last_10s", model.message_rate().count(*at)},
                      {"messages_last_minute", model.message_minute().count(*at)}};
}

}  // namespace

json::object top_json(const TopModel& model, WallTime now,
                      std::optional<TopClock::time_point> rates_at) {
  return {{"server", model.server()},
          {"socket", model.socket()},
          {"taken_at", format_timestamp(now)},
          {"last_seq", model.last_seq()},
          {"agents", agents_json(model)},
          {"leases", leases_json(model, now)},
          {"events", lines_json(model.events())},
          {"messages", lines_json(model.messages())},
          {"rates", rates_json(model, rates_at)}};
}

}  // namespace coordd
