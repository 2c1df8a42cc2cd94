#include "client/daemon_source.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <thread>

#include "client/exact_json.hpp"
#include "client/stop_signals.hpp"
#include "proto/display.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

std::string_view string_of(const json::object& line, std::string_view key) {
  auto* value = line.if_contains(key);
  return value && value->is_string() ? std::string_view(value->get_string()) : std::string_view();
}

std::uint64_t seq_of(const json::object& line) {
  auto* value = line.if_contains("seq");
  if (!value) return 0;
  if (value->is_uint64()) return value->get_uint64();
  return value->is_int64() && value->get_int64() > 0 ? std::uint64_t(value->get_int64()) : 0;
}

std::string number_text(const json::object& line, std::string_view key) {
  auto* value = line.if_contains(key);
  return value && value->is_number() ? json::serialize(*value) : std::string("?");
}

bool is_sub(const json::object& line, const json::value& sub) {
  auto* value = line.if_contains("sub");
  return value && *value == sub;
}

// A `list` record as the view takes it; false if it is not one.
bool read_record(const json::value& value, BaselineRecord& out) {
  if (!value.is_object()) return false;
  const json::object& record = value.get_object();
  std::optional<Kind> kind = parse_kind(string_of(record, "kind"));
  const json::value* data = record.if_contains("data");
  if (!kind || !data || !data->is_object()) return false;
  out.kind = *kind;
  out.id = string_of(record, "id");
  out.seq = seq_of(record);
  out.data = data->get_object();
  if (const json::value* active = record.if_contains("active"); active && active->is_bool()) {
    out.lease = true;
    out.active = active->get_bool();
    out.effective_expiry = parse_timestamp(string_of(record, "effective_expires_at"));
  }
  return true;
}

// Clears the socket the stop handler would shut down when a run ends.
class ShutDownOnStop {
 public:
  explicit ShutDownOnStop(int fd) { StopSignals::shut_down_on_stop(fd); }
  ~ShutDownOnStop() { StopSignals::shut_down_on_stop(-1); }
  ShutDownOnStop(const ShutDownOnStop&) = delete;
  ShutDownOnStop& operator=(const ShutDownOnStop&) = delete;
};

bool passed(const WatchDeadline& deadline) {
  return deadline && std::chrono::steady_clock::now() >= *deadline;
}

}  // namespace

DaemonSource::DaemonSource(std::string socket_path, WatchPlan plan)
    : socket_path_(std::move(socket_path)), plan_(std::move(plan)) {}

std::string DaemonSource::connect() {
  daemon_ = connect_daemon(socket_path_);
  return daemon_.error;
}

std::string DaemonSource::backend() {
  json::object request;
  request["op"] = "status";
  json::object reply;
  if (!call_daemon(daemon_.client, std::move(request), reply).empty()) return "unknown";
  auto* backend = reply.if_contains("backend");
  return backend && backend->is_string() ? strip_control(backend->get_string()) : "unknown";
}

json::object DaemonSource::subscription_request() const {
  json::object request;
  request["op"] = "subscribe";
  if (plan_.kind) request["kinds"] = json::array{json::string(kind_name(*plan_.kind))};
  if (plan_.run_id) request["run_id"] = *plan_.run_id;
  if (plan_.branch) request["branch"] = *plan_.branch;
  request["root"] = plan_.root;
  return request;
}

std::string DaemonSource::rebase(WatchView& view, bool& stop) {
  // Every record of the kind, whatever its run_id and branch: the view needs
  // to tell a record that stopped matching from one that is gone.
  json::object request;
  request["op"] = "list";
  if (plan_.kind) request["kinds"] = json::array{json::string(kind_name(*plan_.kind))};
  request["root"] = plan_.root;
  json::object reply;
  if (std::string error = call_daemon(daemon_.client, std::move(request), reply); !error.empty()) {
    return error;
  }
  Baseline baseline;
  baseline.seq = seq_of(reply);
  if (const json::value* records = reply.if_contains("records"); records && records->is_array()) {
    baseline.records.reserve(records->get_array().size());
    for (const json::value& value : records->get_array()) {
      BaselineRecord record;
      if (read_record(value, record)) baseline.records.push_back(std::move(record));
    }
  }
  // The subscription delivers the events up to baseline.seq too: skip them.
  last_seq_ = baseline.seq;
  stop = !view.rebase(baseline);
  return "";
}

DaemonSource::End DaemonSource::done(std::string error) {
  error_ = std::move(error);
  return End::kDone;
}

DaemonSource::End DaemonSource::run(WatchView& view, WatchDeadline& deadline) {
  CoordClient& client = daemon_.client;
  ShutDownOnStop guard(client.fd());
  if (StopSignals::requested()) return done("");

  // Same daemon run as before: resume after the last event handled. A new
  // run (or the first): live events only, then the baseline.
  bool same_run = !epoch_.empty() && daemon_.hello.epoch == epoch_;
  json::object request = subscription_request();
  if (same_run) {
    request["since"] = json::object{{"epoch", epoch_}, {"seq", last_seq_}};
  } else {
    request["snapshot"] = false;
  }
  json::object reply;
  std::string error = call_daemon(client, std::move(request), reply);
  if (StopSignals::requested()) return done("");
  if (!error.empty()) return End::kLost;
  sub_ = reply["sub"];
  epoch_ = daemon_.hello.epoch;
  const json::value* resumed = reply.if_contains("resumed");
  if (!(same_run && resumed && resumed->is_bool() && resumed->get_bool())) {
    // Not resumed (a new run, or the journal no longer covers last_seq_):
    // any snapshot the daemon streams is older than the baseline and skipped.
    bool stop = false;
    if (!rebase(view, stop).empty()) return StopSignals::requested() ? done("") : End::kLost;
    if (stop || plan_.once) return done("");
  }
  if (plan_.timeout && !deadline) deadline = deadline_in(*plan_.timeout);

  std::string line;
  for (;;) {
    if (StopSignals::requested()) return done("");
    CoordClient::Status status = client.read_line(line, deadline);
    if (StopSignals::requested()) return done("");
    switch (status) {
      case CoordClient::Status::kOk:
        break;
      case CoordClient::Status::kTimeout:
        return done("");
      case CoordClient::Status::kInterrupted:
        continue;
      case CoordClient::Status::kClosed:
      case CoordClient::Status::kError:
        return End::kLost;
    }
    boost::system::error_code ec;
    json::value parsed = parse_exact_json(line, ec);
    if (ec || !parsed.is_object()) continue;
    const json::object& obj = parsed.get_object();
    std::string_view type = string_of(obj, "type");
    if (type == "event" && is_sub(obj, sub_)) {
      std::uint64_t seq = seq_of(obj);
      if (seq <= last_seq_) continue;  // already in the baseline
      last_seq_ = seq;
      if (!view.live(obj)) return done("");
    } else if (type == "lagged" && is_sub(obj, sub_)) {
      // Events were dropped for this watch: catch up from the current state.
      std::fprintf(stderr,
                   "coordctl: this watch fell behind and coordd dropped events %s to %s; "
                   "catching up from its current records\n",
                   number_text(obj, "from_seq").c_str(), number_text(obj, "to_seq").c_str());
      bool stop = false;
      if (!rebase(view, stop).empty()) return StopSignals::requested() ? done("") : End::kLost;
      if (stop) return done("");
    } else if (type == "error") {
      // Only final errors come unasked (slow_consumer, taken_over): the
      // daemon closes the connection next, and we reconnect.
      return End::kLost;
    }
  }
}

bool DaemonSource::reconnect(std::chrono::milliseconds window, const WatchDeadline& deadline) {
  auto give_up = std::chrono::steady_clock::now() + window;
  std::chrono::milliseconds pause{25};
  for (;;) {
    if (StopSignals::requested() || passed(deadline)) return false;
    if (connect().empty() && watches_root()) return true;
    daemon_.client.close();
    auto now = std::chrono::steady_clock::now();
    if (now >= give_up) return false;
    auto wake = std::min({now + pause, give_up, deadline.value_or(give_up)});
    // A signal interrupts the sleep only through requested(); keep pauses short.
    std::this_thread::sleep_until(wake);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

}  // namespace coordd
