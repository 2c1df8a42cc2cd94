#include "client/top_feed.hpp"

#include <boost/json.hpp>

#include "client/exact_json.hpp"
#include "client/json_fields.hpp"

namespace coordd {
namespace json = boost::json;

TopFeed::TopFeed(std::string socket_path, TopModel& model, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), model_(model), timeout_(timeout) {}

void TopFeed::close() { daemon_.client.close(); }

std::string TopFeed::connect(TopClock::time_point now) {
  daemon_ = connect_daemon(socket_path_, timeout_);
  if (!daemon_.ok()) return daemon_.error;
  model_.set_daemon(daemon_.hello.server, socket_path_);

  json::object status;
  if (std::string error = call_daemon(daemon_.client, {{"op", "status"}}, status, timeout_);
      !error.empty()) {
    return error;
  }
  model_.set_status(status);

  // The same run: on from where this feed stopped. A new one: its
  // journal's latest lines, as far as they can be replayed.
  std::uint64_t since = last_seq_;
  if (daemon_.hello.epoch != epoch_) {
    std::uint64_t seq = uint_field(status, "seq", 0);
    std::uint64_t floor = 0;
    if (const json::value* journal = status.if_contains("journal");
        journal && journal->is_object()) {
      floor = uint_field(journal->get_object(), "replayable_after_seq", 0);
    }
    since = std::max(floor, seq > kReplayed ? seq - kReplayed : 0);
    epoch_ = daemon_.hello.epoch;
  }
  json::object subscribe{{"op", "subscribe"}, {"messages", "all"}, {"snapshot", false}};
  subscribe["since"] = json::object{{"epoch", epoch_}, {"seq", since}};
  json::object subscribed;
  if (std::string error = call_daemon(daemon_.client, subscribe, subscribed, timeout_);
      !error.empty()) {
    return error;
  }
  last_seq_ = since;
  model_.set_live_after(uint_field(subscribed, "seq", since));
  bool leases_changed = false;
  if (std::string error = drain(now, leases_changed); !error.empty()) return error;
  return refresh(true);
}

std::string TopFeed::drain(TopClock::time_point now, bool& leases_changed) {
  std::string line;
  for (;;) {
    // A deadline already past would not even look at the socket: give it 2 ms.
    switch (daemon_.client.read_line(line, TopClock::now() + std::chrono::milliseconds(2))) {
      case CoordClient::Status::kOk:
        break;
      case CoordClient::Status::kTimeout:
      case CoordClient::Status::kInterrupted:
        return "";
      case CoordClient::Status::kClosed:
        return "coordd closed the connection";
      case CoordClient::Status::kError:
        return daemon_.client.error();
    }
    boost::system::error_code ec;
    json::value value = parse_exact_json(line, ec);
    if (ec || !value.is_object()) continue;
    const json::object& obj = value.get_object();
    std::uint64_t seq = uint_field(obj, "seq", 0);
    auto* type = obj.if_contains("type");
    bool streamed = type && (*type == "event" || *type == "message");
    if (streamed && seq <= last_seq_) continue;  // a snapshot of a resync: already shown
    if (streamed) last_seq_ = seq;
    leases_changed = model_.on_line(obj, now) || leases_changed;
  }
}

std::string TopFeed::refresh(bool leases) {
  json::object status;
  if (std::string error = call_daemon(daemon_.client, {{"op", "status"}}, status, timeout_);
      !error.empty()) {
    return error;
  }
  model_.set_status(status);
  if (!leases) return "";
  // Lines that came before the replies wait in the client: drain() takes them.
  json::object list;
  json::object request{{"op", "list"}, {"active_only", true}};
  request["kinds"] = json::array{"reservation", "claim"};
  if (std::string error = call_daemon(daemon_.client, request, list, timeout_); !error.empty()) {
    return error;
  }
  if (auto* records = list.if_contains("records"); records && records->is_array()) {
    model_.set_leases(records->get_array());
  }
  return "";
}

std::string TopFeed::settle(TopClock::time_point now) {
  json::object synced;
  if (std::string error = call_daemon(daemon_.client, {{"op", "sync"}}, synced, timeout_);
      !error.empty()) {
    return error;
  }
  bool leases_changed = false;
  if (std::string error = drain(now, leases_changed); !error.empty()) return error;
  return leases_changed ? refresh(true) : "";
}

}  // namespace coordd
