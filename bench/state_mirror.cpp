#include "bench/state_mirror.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/records.hpp"
#include "tests/support/workspace.hpp"

namespace coordd::bench {
namespace {

namespace json = boost::json;

std::string_view singular(std::string_view plural) {
  if (plural == "dependencies") return "dependency";
  return plural.substr(0, plural.size() - 1);
}

}  // namespace

StateMirror::StateMirror(const CoorddProcess& coordd, std::string epoch, LatencyLog* arrivals,
                         std::size_t receiver, std::string id_prefix)
    : client_(coordd.subscribe({})),
      epoch_(std::move(epoch)),
      arrivals_(arrivals),
      receiver_(receiver),
      id_prefix_(std::move(id_prefix)) {
  reader_ = std::make_unique<LineReader>(
      client_.fd(), [this](std::string_view line, std::int64_t t) { on_line(line, t); });
}

StateMirror::~StateMirror() { stop(); }

void StateMirror::stop() {
  if (reader_) reader_->stop();
}

void StateMirror::send(json::object request) {
  std::lock_guard lock(send_mutex_);
  client_.send(request, deadline_in(std::chrono::seconds(10)));
}

void StateMirror::request_sync() {
  std::uint64_t req = next_req_++;
  sync_req_ = req;
  send({{"op", "sync"}, {"req", req}, {"timeout_ms", 60000}});
}

void StateMirror::resubscribe(std::uint64_t from_seq) {
  ++lagged_;
  ignoring_events_ = true;
  awaiting_req_ = next_req_++;
  if (current_sub_ != 0) send({{"op", "unsubscribe"}, {"sub", current_sub_}});
  send({{"op", "subscribe"},
        {"req", awaiting_req_},
        {"since", {{"epoch", epoch_}, {"seq", from_seq > 0 ? from_seq - 1 : 0}}}});
}

void StateMirror::on_line(std::string_view line, std::int64_t read_ns) {
  try {
    handle_line(line, read_ns);
  } catch (const std::exception&) {
    ++malformed_;  // a line missing a field we rely on: counted, not fatal
  }
}

void StateMirror::handle_line(std::string_view line, std::int64_t read_ns) {
  boost::system::error_code ec;
  json::value parsed = json::parse(line, ec);
  if (ec || !parsed.is_object()) return;
  const json::object& msg = parsed.get_object();
  const json::value* type = msg.if_contains("type");
  if (!type || !type->is_string()) return;
  const json::string& t = type->get_string();
  const json::value* req = msg.if_contains("req");
  auto req_is = [&](std::uint64_t want) {
    return want != 0 && req && req->is_int64() && std::uint64_t(req->get_int64()) == want;
  };
  if (t == "event") {
    if (ignoring_events_) return;
    const json::value* sub = msg.if_contains("sub");
    if (current_sub_ != 0 &&
        (!sub || !sub->is_int64() || std::uint64_t(sub->get_int64()) != current_sub_)) {
      return;
    }
    apply_event(msg, read_ns);
  } else if (t == "lagged") {
    const json::value* sub = msg.if_contains("sub");
    if (ignoring_events_ || !sub) return;  // already resubscribing
    if (current_sub_ == 0) current_sub_ = std::uint64_t(sub->to_number<std::int64_t>());
    resubscribe(std::uint64_t(msg.at("from_seq").to_number<std::int64_t>()));
  } else if (t == "subscribed" && req_is(awaiting_req_)) {
    current_sub_ = std::uint64_t(msg.at("sub").to_number<std::int64_t>());
    ignoring_events_ = false;
    const json::value* resumed = msg.if_contains("resumed");
    if (resumed && resumed->is_bool() && !resumed->get_bool()) {
      state_.clear();  // a full snapshot follows
      ++resyncs_;
    }
  } else if (t == "synced" && req_is(sync_req_.load())) {
    synced_.store(true, std::memory_order_release);
  }
}

void StateMirror::apply_event(const json::object& event, std::int64_t read_ns) {
  const json::value* kind = event.if_contains("kind");
  const json::value* id = event.if_contains("id");
  const json::value* event_type = event.if_contains("event_type");
  if (!kind || !id || !event_type || !id->is_string()) return;
  std::string key = std::string(kind->get_string()) + "/" + std::string(id->get_string());
  const json::string& what = event_type->get_string();
  if (what == "removed") {
    state_.erase(key);
    return;
  }
  const json::value* data = event.if_contains("data");
  state_[key] = data ? *data : json::value(nullptr);
  if (arrivals_ && (what == "added" || what == "snapshot")) {
    long long index = index_of_id(id->get_string(), id_prefix_);
    if (index >= 0) arrivals_->mark_arrived(receiver_, std::size_t(index), read_ns);
  }
}

std::map<std::string, json::value> read_disk_state(const std::string& repo) {
  std::map<std::string, json::value> out;
  std::filesystem::path coordination = std::filesystem::path(repo) / ".muse" / "coordination";
  for (std::string_view plural : support::kKindDirs) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(coordination / plural, ec)) {
      std::string name = entry.path().filename().string();
      if (name.starts_with(".") || !name.ends_with(".json") || !entry.is_regular_file()) continue;
      std::ifstream in(entry.path());
      std::ostringstream text;
      text << in.rdbuf();
      boost::system::error_code parse_error;
      json::value value = json::parse(text.str(), parse_error);
      std::string key = std::string(singular(plural)) + "/" + name.substr(0, name.size() - 5);
      out[key] = parse_error ? json::value(nullptr) : value;
    }
  }
  return out;
}

}  // namespace coordd::bench
