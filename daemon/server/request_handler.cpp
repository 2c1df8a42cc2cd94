#include "daemon/server/request_handler.hpp"

#include <boost/json.hpp>
#include <filesystem>
#include <optional>
#include <set>
#include <unistd.h>

#include "daemon/server/connection.hpp"
#include "daemon/server/request.hpp"
#include "daemon/server/status_report.hpp"
#include "daemon/server/connection_manager.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/server/event_journal.hpp"
#include "daemon/engine/finite_json.hpp"
#include "daemon/watch/sync_barrier.hpp"
#include "daemon/bus/agent_message.hpp"
#include "daemon/bus/message_bus.hpp"
#include "daemon/watch/monitor.hpp"
#include <sys/stat.h>
#include <thread>

namespace coordd {
namespace json = boost::json;

namespace {

std::string kinds_expected() {
  std::string out;
  for (Kind kind : kAllKinds) {
    if (!out.empty()) out += ", ";
    out += kind_name(kind);
  }
  return out + " (or their plural directory names)";
}

std::string line_of(const json::object& obj) { return json::serialize(obj) + "\n"; }

}  // namespace


namespace {

// The filter fields shared by subscribe and list: kinds, run_id, branch, root.
std::optional<EventFilter> read_filter(Engine& engine, Request& request) {
  EventFilter filter;
  auto add_kind = [&](const json::value& v) {
    std::optional<Kind> kind = v.is_string() ? parse_kind(v.get_string()) : std::nullopt;
    if (!kind) {
      request.fail("bad_field", "'kinds' holds " + json::serialize(v) + "; expected " +
                                    kinds_expected());
      return;
    }
    filter.kinds.add(*kind);
  };
  for (std::string_view key : {"kinds", "kind"}) {
    const json::value* v = request.get(key);
    if (!v) continue;
    if (v->is_array()) {
      for (const json::value& item : v->get_array()) add_kind(item);
    } else {
      add_kind(*v);
    }
  }
  if (auto run_id = request.string("run_id"); run_id && !run_id->empty()) filter.run_id = run_id;
  if (auto branch = request.string("branch"); branch && !branch->empty()) filter.branch = branch;
  if (auto root = request.string("root")) {
    std::error_code ec;
    std::string normal = std::filesystem::weakly_canonical(*root, ec).string();
    std::optional<RootId> id = engine.find_root(ec ? *root : normal);
    if (!id) {
      std::string watched;
      for (RootId r : engine.root_ids()) watched += (watched.empty() ? "" : ", ") + engine.root_path(r);
      request.fail("unknown_root", "'" + *root + "' is not a watched root; watched: " +
                                       (watched.empty() ? "none" : watched));
    } else {
      filter.root = id;
    }
  }
  if (request.failed()) return std::nullopt;
  return filter;
}

}  // namespace

RequestHandler::RequestHandler(Monitor& monitor, EventJournal& journal, ConnectionManager& manager,
                               SyncBarrier& sync, MessageBus& bus, const ConnectionLimits& limits,
                               DaemonInfo info)
    : monitor_(monitor),
      engine_(monitor.engine()),
      journal_(journal),
      manager_(manager),
      sync_(sync),
      bus_(bus),
      limits_(limits),
      info_(std::move(info)) {}

std::string RequestHandler::error_line(const json::value* req, std::string_view code,
                                       std::string_view message) {
  return coordd::error_line(req, code, message);
}

void RequestHandler::handle(Connection& connection, std::string_view frame) {
  json::parse_options options;
  options.max_depth = 64;
  boost::system::error_code ec;
  json::value parsed = json::parse(frame, ec, {}, options);
  if (ec) {
    connection.reply(error_line(nullptr, "invalid_json",
                                "the request is not valid JSON (" + ec.message() +
                                    "); send one JSON object per line"));
    return;
  }
  if (!parsed.is_object()) {
    connection.reply(error_line(nullptr, "not_an_object",
                                "a request must be a JSON object with an \"op\" field"));
    return;
  }
  // Echoed or relayed, an out-of-range number would go out as `Infinity`.
  if (!all_numbers_finite(parsed)) {
    connection.reply(error_line(nullptr, "bad_field",
                                "the request holds a number beyond the range of a double "
                                "(about 1.8e308); send it as a string"));
    return;
  }
  Request request(parsed.get_object());
  std::optional<std::string> op = request.string("op");
  if (!request.failed() && !op) {
    request.fail("missing_op", "the request has no \"op\"; expected one of: hello, subscribe, "
                               "unsubscribe, list, status, ping, sync, send, broadcast, watch_root, "
                               "unwatch_root");
  }
  if (!request.failed() && connection.access() != Access::kFull &&
      (op_needs_write(*op) || (*op == "hello" && request.get("agent")))) {
    request.fail("forbidden", "this connection is read-only (uid " +
                                  std::to_string(connection.peer().uid) + "); '" + *op +
                                  "' needs the daemon's --allow-write");
  }
  if (!request.failed()) {
    if (*op == "hello") {
      hello(connection, request);
    } else if (*op == "subscribe") {
      subscribe(connection, request);
    } else if (*op == "unsubscribe") {
      unsubscribe(connection, request);
    } else if (*op == "list") {
      list(connection, request);
    } else if (*op == "status") {
      status(connection, request);
    } else if (*op == "send") {
      send(connection, request, false);
    } else if (*op == "broadcast") {
      send(connection, request, true);
    } else if (*op == "watch_root") {
      watch_root(connection, request);
    } else if (*op == "unwatch_root") {
      unwatch_root(connection, request);
    } else if (*op == "debug_stall" && info_.test_hooks) {
      // Blocks the reactor on purpose so tests can see the watchdog stop.
      std::this_thread::sleep_for(std::chrono::milliseconds(request.count("ms").value_or(0)));
      connection.reply(line_of(request.reply("stalled")));
    } else if (*op == "sync") {
      sync(connection, request);
    } else if (*op == "ping") {
      connection.reply(line_of(request.reply("pong")));
    } else {
      request.fail("unknown_op", "unknown op '" + *op +
                                     "'; expected one of: hello, subscribe, unsubscribe, list, "
                                     "status, ping, sync, send, broadcast, watch_root, "
                                     "unwatch_root");
    }
  }
  if (request.failed()) connection.reply(request.error());
}

void RequestHandler::hello(Connection& connection, Request& request) {
  if (auto proto = request.count("proto"); proto && *proto != std::uint64_t(kProtocolVersion)) {
    request.fail("unsupported_proto", "this daemon speaks protocol " +
                                          std::to_string(kProtocolVersion) + ", not " +
                                          std::to_string(*proto));
  }
  request.string("client");  // optional, for logs; type-checked only
  std::optional<std::string> agent = request.string("agent");
  bool takeover = request.boolean("takeover", false);
  if (agent && !is_valid_agent_id(*agent)) {
    request.fail("bad_field", "'agent' must be 1-128 characters of [A-Za-z0-9._:@-]");
  }
  if (agent && connection.agent() && *connection.agent() != *agent) {
    request.fail("bad_field", "this connection is already agent '" + *connection.agent() +
                                  "'; open another connection for another agent");
  }
  if (request.failed()) return;
  std::size_t waiting = 0;
  if (agent) {
    std::string code = bus_.attach(connection, *agent, takeover, waiting);
    if (!code.empty()) {
      request.fail(code, "agent '" + *agent + "' is connected elsewhere; say hello with "
                         "\"takeover\":true to replace that connection");
      return;
    }
  }
  json::object out = request.reply("hello");
  out["proto"] = kProtocolVersion;
  out["server"] = std::string("coordd/") + COORDD_VERSION;
  out["epoch"] = info_.epoch;
  out["seq"] = engine_.last_seq();
  out["backend"] = info_.backend ? info_.backend() : "none";
  json::array roots;
  for (RootId root : engine_.root_ids()) roots.emplace_back(engine_.root_path(root));
  out["roots"] = std::move(roots);
  if (agent) {
    out["agent"] = *agent;
    out["waiting"] = waiting;  // delivered right after this reply
  }
  // Queue the reply before the mailbox is drained into the connection.
  connection.reply(line_of(out));
  if (agent) connection.pump();
}

void RequestHandler::subscribe(Connection& connection, Request& request) {
  std::optional<EventFilter> filter = read_filter(engine_, request);
  bool snapshot = request.boolean("snapshot", true);
  bool events = request.boolean("events", true);
  Subscription::Messages messages = Subscription::Messages::kNone;
  if (auto mode = request.string("messages")) {
    if (*mode == "all") {
      messages = Subscription::Messages::kAll;
    } else if (*mode == "broadcast") {
      messages = Subscription::Messages::kBroadcast;
    } else if (*mode != "none") {
      request.fail("bad_field", "'messages' must be \"none\", \"broadcast\" or \"all\"");
    }
  }
  std::set<std::string> agents;
  if (const json::value* v = request.get("agents")) {
    const json::array* list = v->if_array();
    for (std::size_t i = 0; list && i < list->size(); ++i) {
      if (!(*list)[i].is_string() || !is_valid_agent_id((*list)[i].get_string())) list = nullptr;
      else agents.emplace((*list)[i].get_string());
    }
    if (!list) request.fail("bad_field", "'agents' must be an array of agent ids");
  }
  // Resume: {"since":{"epoch":E,"seq":N}} replays from the journal instead
  // of sending a snapshot, when this run still holds every event after N.
  std::optional<std::uint64_t> since;
  std::string_view not_resumed;
  if (const json::value* v = request.get("since")) {
    const json::object* obj = v->if_object();
    const json::value* epoch = obj ? obj->if_contains("epoch") : nullptr;
    const json::value* seq = obj ? obj->if_contains("seq") : nullptr;
    bool seq_ok = seq && (seq->is_uint64() || (seq->is_int64() && seq->get_int64() >= 0));
    if (!epoch || !epoch->is_string() || !seq_ok) {
      request.fail("bad_field", "'since' must be {\"epoch\": <string from hello>, \"seq\": "
                                "<last seq received>}");
    } else {
      std::uint64_t n = seq->is_uint64() ? seq->get_uint64() : std::uint64_t(seq->get_int64());
      if (epoch->get_string() != info_.epoch) {
        not_resumed = "epoch_changed";
      } else if (n > engine_.last_seq()) {
        request.fail("bad_field", "'since.seq' " + std::to_string(n) +
                                      " is ahead of this daemon's seq " +
                                      std::to_string(engine_.last_seq()));
      } else if (!journal_.covers(n)) {
        not_resumed = "compacted";
      } else {
        since = n;
      }
    }
  }
  if (!filter || request.failed()) return;
  std::uint64_t seq = engine_.last_seq();
  Subscription& sub = connection.add_subscription(*filter);
  sub.snapshot_seq = seq;
  sub.events = events;
  sub.messages = messages;
  sub.agents = std::move(agents);
  json::object out = request.reply("subscribed");
  out["sub"] = sub.id;
  out["seq"] = seq;
  if (since) {
    sub.phase = Subscription::Phase::kReplay;
    sub.replay_after = *since;
    out["resumed"] = true;
  } else if (snapshot || !not_resumed.empty()) {
    sub.phase = Subscription::Phase::kSnapshot;
    sub.resync = !not_resumed.empty();
    if (events) {
      for (auto& [ref, record] : engine_.matching(*filter, false)) sub.snapshot.push_back(ref);
    }
    if (!not_resumed.empty()) {
      out["resumed"] = false;
      out["reason"] = not_resumed;
    }
  } else {
    sub.phase = Subscription::Phase::kReplay;
    sub.replay_after = seq;
  }
  connection.reply(line_of(out));
  connection.pump();
}

void RequestHandler::sync(Connection& connection, Request& request) {
  constexpr std::uint64_t kDefaultTimeoutMs = 10'000;
  constexpr std::uint64_t kMaxTimeoutMs = 600'000;
  std::uint64_t timeout_ms = request.count("timeout_ms").value_or(kDefaultTimeoutMs);
  if (timeout_ms > kMaxTimeoutMs) {
    request.fail("bad_field", "'timeout_ms' must be at most " + std::to_string(kMaxTimeoutMs));
  }
  if (request.failed()) return;
  std::weak_ptr<Connection> weak = connection.weak_from_this();
  json::value req = request.req() ? *request.req() : json::value(nullptr);
  bool has_req = request.req() != nullptr;
  sync_.start(std::chrono::milliseconds(timeout_ms), [this, weak, req, has_req,
                                                      timeout_ms](bool in_time) {
    std::shared_ptr<Connection> conn = weak.lock();
    if (!conn || conn->closed()) return;
    if (!in_time) {
      conn->reply(error_line(has_req ? &req : nullptr, "sync_timeout",
                             "the watcher did not confirm the sync within " +
                                 std::to_string(timeout_ms) + " ms; retry, or raise timeout_ms"));
      return;
    }
    json::object out;
    out["type"] = "synced";
    if (has_req) out["req"] = req;
    conn->reply_when_caught_up([this, out]() mutable {
      out["seq"] = engine_.last_seq();
      return line_of(out);
    });
  });
}

void RequestHandler::send(Connection& connection, Request& request, bool broadcast) {
  std::optional<std::string> to;
  if (!broadcast) {
    to = request.string("to");
    if (!request.failed() && (!to || !is_valid_agent_id(*to))) {
      request.fail("bad_field", "'to' must be the recipient's agent id ([A-Za-z0-9._:@-], 1-128)");
    }
  }
  const json::value* v = request.get("message");
  if (!request.failed() && (!v || !v->is_object())) {
    request.fail("bad_message", "'message' must be an object with a \"kind\"");
  }
  if (request.failed()) return;
  json::object message = v->get_object();
  std::string problem = validate_message(message, connection.agent());
  if (!problem.empty()) {
    request.fail("bad_message", problem);
    return;
  }
  SendOutcome outcome = broadcast ? bus_.broadcast(connection.agent(), std::move(message))
                                  : bus_.send(connection.agent(), *to, std::move(message));
  if (!outcome.error_code.empty()) {
    request.fail(outcome.error_code, outcome.error_message);
    return;
  }
  json::object out = request.reply("sent");
  out["seq"] = outcome.seq;
  if (broadcast) out["recipients"] = outcome.recipients;
  connection.reply(line_of(out));
}

namespace {

// `path` without trailing "/" or "/.": with them, lstat follows a final symlink.
std::string without_trailing_dots(std::string path) {
  for (;;) {
    if (path.size() > 1 && path.back() == '/') {
      path.pop_back();
    } else if (path.size() > 2 && path.ends_with("/.")) {
      path.resize(path.size() - 2);
    } else {
      return path;
    }
  }
}

}  // namespace

void RequestHandler::watch_root(Connection& connection, Request& request) {
  std::optional<std::string> path = request.string("path");
  if (!request.failed() && (!path || path->empty() || (*path)[0] != '/')) {
    request.fail("bad_field", "'path' must be the absolute path of a repository directory");
  }
  if (request.failed()) return;
  struct stat st {};
  std::string problem;
  if (::lstat(without_trailing_dots(*path).c_str(), &st) != 0) {
    problem = "does not exist";
  } else if (S_ISLNK(st.st_mode)) {
    problem = "is a symlink; give the real directory";
  } else if (!S_ISDIR(st.st_mode)) {
    problem = "is not a directory";
  } else if (connection.peer().uid != 0 && st.st_uid != connection.peer().uid) {
    problem = "is owned by uid " + std::to_string(st.st_uid) + ", not by you (uid " +
              std::to_string(connection.peer().uid) + ")";
  }
  std::error_code ec;
  std::string canonical = std::filesystem::canonical(*path, ec).string();
  if (problem.empty() && ec) problem = "cannot be resolved: " + ec.message();
  if (problem.empty()) problem = monitor_.add_root(canonical);
  if (!problem.empty()) {
    request.fail("bad_root", *path + " " + problem);
    return;
  }
  json::object out = request.reply("watching");
  out["path"] = canonical;
  out["backend"] = monitor_.backend_of(*engine_.find_root(canonical));
  out["seq"] = engine_.last_seq();
  connection.reply(line_of(out));
}

void RequestHandler::unwatch_root(Connection& connection, Request& request) {
  std::optional<std::string> path = request.string("path");
  if (!request.failed() && !path) request.fail("bad_field", "'path' (a watched root) is required");
  if (request.failed()) return;
  std::error_code ec;
  std::string canonical = std::filesystem::weakly_canonical(*path, ec).string();
  if (ec || !monitor_.remove_root(canonical)) {
    if (!monitor_.remove_root(*path)) {
      request.fail("unknown_root", *path + " is not a watched root");
      return;
    }
    canonical = *path;
  }
  json::object out = request.reply("unwatched");
  out["path"] = canonical;
  out["seq"] = engine_.last_seq();
  connection.reply(line_of(out));
}

void RequestHandler::unsubscribe(Connection& connection, Request& request) {
  std::optional<std::uint64_t> sub = request.count("sub");
  if (!request.failed() && !sub) request.fail("bad_field", "'sub' (the subscription number) is required");
  if (request.failed()) return;
  if (!connection.remove_subscription(*sub)) {
    request.fail("unknown_sub", "no subscription " + std::to_string(*sub) + " on this connection");
    return;
  }
  json::object out = request.reply("unsubscribed");
  out["sub"] = *sub;
  connection.reply(line_of(out));
}

void RequestHandler::list(Connection& connection, Request& request) {
  std::optional<EventFilter> filter = read_filter(engine_, request);
  bool active_only = request.boolean("active_only", false);
  if (!filter || request.failed()) return;
  // Built by hand: record data is stored already serialized.
  json::object head = request.reply("list");
  head["seq"] = engine_.last_seq();
  std::string line = json::serialize(head);
  line.pop_back();  // reopen the object
  line += ",\"records\":[";
  bool first = true;
  for (const auto& [ref, record] : engine_.matching(*filter, active_only)) {
    if (!first) line += ',';
    first = false;
    line += "{\"kind\":\"";
    line += kind_name(ref.kind);
    line += "\",\"id\":\"" + ref.id + "\",\"root\":" + engine_.root_json(ref.root);
    line += ",\"seq\":" + std::to_string(record->seq);
    if (auto lease = engine_.leases().state_of(ref)) {
      line += lease->active ? ",\"active\":true" : ",\"active\":false";
      line += ",\"effective_expires_at\":";
      line += lease->effective_expiry ? "\"" + format_timestamp(*lease->effective_expiry) + "\""
                                      : std::string("null");
    }
    line += ",\"data\":" + record->data_json + "}";
  }
  line += "]}\n";
  connection.reply(std::move(line));
}

void RequestHandler::status(Connection& connection, Request& request) {
  json::object out = request.reply("status");
  StatusSources sources{monitor_, journal_, manager_, sync_, bus_, limits_, info_};
  add_status(sources, out);
  connection.reply(line_of(out));
}

}  // namespace coordd
