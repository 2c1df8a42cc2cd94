#include "client/daemon_source.hpp"

#include <boost/json.hpp>
#include <cstdio>

#include "client/daemon_connection.hpp"
#include "client/stop_signals.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

std::string_view type_of(const json::object& line) {
  auto* type = line.if_contains("type");
  return type && type->is_string() ? std::string_view(type->get_string()) : std::string_view();
}

bool is_sub(const json::object& line, const json::value& sub) {
  auto* value = line.if_contains("sub");
  return value && *value == sub;
}

std::string text_of(const json::object& line, std::string_view key) {
  auto* value = line.if_contains(key);
  if (!value) return "?";
  return value->is_string() ? std::string(value->get_string()) : json::serialize(*value);
}

// Clears the socket the stop handler would shut down when the watch ends.
class ShutDownOnStop {
 public:
  explicit ShutDownOnStop(int fd) { StopSignals::shut_down_on_stop(fd); }
  ~ShutDownOnStop() { StopSignals::shut_down_on_stop(-1); }
  ShutDownOnStop(const ShutDownOnStop&) = delete;
  ShutDownOnStop& operator=(const ShutDownOnStop&) = delete;
};

}  // namespace

DaemonSource::DaemonSource(CoordClient& client, WatchPlan plan)
    : client_(client), plan_(std::move(plan)) {}

WatchError DaemonSource::run(const EventHandler& on_event) {
  ShutDownOnStop guard(client_.fd());
  if (StopSignals::requested()) return "";

  json::object request;
  request["op"] = "subscribe";
  if (plan_.kind) request["kinds"] = json::array{json::string(kind_name(*plan_.kind))};
  if (plan_.run_id) request["run_id"] = *plan_.run_id;
  if (plan_.branch) request["branch"] = *plan_.branch;
  request["root"] = plan_.root;
  request["snapshot"] = true;
  json::object reply;
  std::string error = call_daemon(client_, std::move(request), reply);
  if (StopSignals::requested()) return "";
  if (!error.empty()) return "cannot subscribe: " + error;
  json::value sub = reply["sub"];

  CoordClient::Deadline deadline;  // none while the snapshot arrives
  std::string line;
  for (;;) {
    if (StopSignals::requested()) return "";
    CoordClient::Status status = client_.read_line(line, deadline);
    if (StopSignals::requested()) return "";
    switch (status) {
      case CoordClient::Status::kOk:
        break;
      case CoordClient::Status::kTimeout:
        return "";
      case CoordClient::Status::kInterrupted:
        continue;
      case CoordClient::Status::kClosed:
        return "coordd closed the connection (did it stop?)";
      case CoordClient::Status::kError:
        return client_.error();
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(line, ec);
    if (ec || !parsed.is_object()) continue;
    const json::object& obj = parsed.get_object();
    std::string_view type = type_of(obj);
    if (type == "event" && is_sub(obj, sub)) {
      if (!on_event(obj)) return "";
    } else if (type == "snapshot_end" && is_sub(obj, sub)) {
      if (plan_.once) return "";
      if (plan_.timeout) deadline = deadline_in(*plan_.timeout);
    } else if (type == "lagged" && is_sub(obj, sub)) {
      std::fprintf(stderr,
                   "coordctl: coordd dropped %s event(s) (seq %s to %s) because this watcher "
                   "fell behind; the state shown may be stale\n",
                   text_of(obj, "dropped").c_str(), text_of(obj, "from_seq").c_str(),
                   text_of(obj, "to_seq").c_str());
    } else if (type == "error") {
      return "coordd reported an error (" + text_of(obj, "code") + "): " + text_of(obj, "message");
    }
  }
}

}  // namespace coordd
