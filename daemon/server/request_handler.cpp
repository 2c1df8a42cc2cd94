#include "daemon/server/request_handler.hpp"

#include <array>
#include <boost/json.hpp>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "daemon/bus/agent_message.hpp"
#include "daemon/bus/message_bus.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/engine/finite_json.hpp"
#include "daemon/server/connection_manager.hpp"
#include "daemon/server/event_journal.hpp"
#include "daemon/server/request.hpp"
#include "daemon/server/request_fields.hpp"
#include "daemon/server/root_authority.hpp"
#include "daemon/server/status_report.hpp"
#include "daemon/watch/monitor.hpp"
#include "daemon/watch/sync_barrier.hpp"
#include "proto/wire.hpp"

namespace coordd {
namespace json = boost::json;

// One op of the protocol: the table below is the only list of them.
struct RequestHandler::Op {
  std::string_view name;
  bool needs_write;  // refused on a read-only connection
  void (RequestHandler::*handle)(Connection&, Request&);
};

using Handler = RequestHandler;

// The most messages an acking client may have unacked at once.
constexpr std::uint64_t kMaxCredit = 65536;

// debug_stall is listed here but answered only with --test-hooks.
std::span<const RequestHandler::Op> RequestHandler::ops() {
  static constexpr std::array<Op, 13> kOps = {{
      {"hello", false, &Handler::hello},  // with "agent" it needs write (see handle)
      {"subscribe", false, &Handler::subscribe},
      {"unsubscribe", false, &Handler::unsubscribe},
      {"list", false, &Handler::list},
      {"status", false, &Handler::status},
      {"ping", false, &Handler::ping},
      {"sync", false, &Handler::sync},
      {"send", true, &Handler::send},
      {"broadcast", true, &Handler::broadcast},
      {"ack", true, &Handler::ack},
      {"watch_root", true, &Handler::watch_root},
      {"unwatch_root", true, &Handler::unwatch_root},
      {"debug_stall", false, &Handler::debug_stall},
  }};
  return kOps;
}

const RequestHandler::Op* RequestHandler::find_op(std::string_view name) {
  for (const Op& op : ops()) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

std::string RequestHandler::op_names() {
  std::string names;
  for (const Op& op : ops()) {
    if (op.name == "debug_stall") continue;
    names += names.empty() ? "" : ", ";
    names += op.name;
  }
  return names;
}

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

void RequestHandler::handle(Connection& connection, std::string_view frame) {
  json::parse_options options;
  options.max_depth = 64;
  boost::system::error_code ec;
  json::value parsed = json::parse(frame, ec, {}, options);
  if (ec) {
    connection.reply(error_line(
        nullptr, "invalid_json",
        "the request is not valid JSON (" + ec.message() + "); send one JSON object per line"));
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
  std::optional<std::string> name = request.string("op");
  if (!request.failed() && !name) {
    request.fail("missing_op", "the request has no \"op\"; expected one of: " + op_names());
  }
  const Op* op = name ? find_op(*name) : nullptr;
  if (op && op->name == "debug_stall" && !info_.test_hooks) op = nullptr;
  if (!request.failed() && !op) {
    request.fail("unknown_op", "unknown op '" + *name + "'; expected one of: " + op_names());
  }
  if (!request.failed() && connection.access() != Access::kFull &&
      (op->needs_write || (op->name == "hello" && request.get("agent")))) {
    request.fail("forbidden", "this connection is read-only (uid " +
                                  std::to_string(connection.peer().uid) + "); '" + *name +
                                  "' needs the daemon's --allow-write");
  }
  if (!request.failed()) (this->*(op->handle))(connection, request);
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
  bool mailbox = request.boolean("mailbox", true);
  Delivery delivery;
  delivery.ack = request.boolean("ack", false);
  std::optional<std::uint64_t> credit = request.count("credit");
  if (agent && !is_valid_agent_id(*agent)) {
    request.fail("bad_field", "'agent' must be 1-128 characters of [A-Za-z0-9._:@-]");
  }
  if (credit && (*credit < 1 || *credit > kMaxCredit)) {
    request.fail("bad_field", "'credit' must be 1-" + std::to_string(kMaxCredit) +
                                  " (the most messages delivered and not yet acked at once)");
  }
  if (credit && !delivery.ack) request.fail("bad_field", "'credit' needs \"ack\":true");
  if ((delivery.ack || !mailbox) && !agent) {
    request.fail("bad_field", "'ack' and 'mailbox' need 'agent'");
  }
  if (delivery.ack && !mailbox) {
    request.fail("bad_field",
                 "'ack' needs the mailbox; a hello with \"mailbox\":false receives nothing");
  }
  if (agent && connection.sender() && *connection.sender() != *agent) {
    request.fail("bad_field", "this connection is already agent '" + *connection.sender() +
                                  "'; open another connection for another agent");
  }
  if (request.failed()) return;
  if (credit) delivery.credit = *credit;
  if (agent && !mailbox) {
    // For sending only. Other hosts take messages from an agent only from
    // the host holding its mailbox.
    if (bus_.route() && !bus_.holds(*agent)) {
      request.fail("agent_elsewhere",
                   "agent '" + *agent +
                       "' has no mailbox on this host, and other hosts of the swarm take its "
                       "messages only from the host that holds its mailbox; say hello as it "
                       "(with its mailbox) here first");
      return;
    }
    if (!connection.agent()) connection.set_sender(*agent);
    connection.reply(hello_reply(request.req(), agent, 0, {}, false));
    return;
  }
  if (agent) connection.set_delivery(delivery);
  SwarmRoute* route = bus_.route();
  if (!agent || !route) {
    HelloReply reply;
    if (agent) {
      Status attached = bus_.attach(connection.session(), *agent, takeover, reply.waiting);
      if (!attached.ok()) {
        request.fail(attached.code(), attached.message());
        return;
      }
    }
    // Queue the reply before the mailbox is drained into the connection.
    connection.reply(hello_reply(request.req(), agent, reply.waiting, delivery));
    if (agent) connection.pump();
    return;
  }
  // In a swarm the name must be this host's across the swarm first: a
  // local holder answers at once, the registry later.
  if (bus_.connected(*agent) && !takeover && connection.agent() != agent) {
    request.fail("agent_taken", "agent '" + *agent +
                                    "' is connected elsewhere; say hello with "
                                    "\"takeover\":true to replace that connection");
    return;
  }
  std::weak_ptr<Connection> weak = connection.weak_from_this();
  std::optional<json::value> req;
  if (request.req()) req = *request.req();
  auto live = std::make_shared<bool>(true);
  connection.defer_reply([live] { *live = false; });
  route->claim(*agent, takeover,
               [this, weak, req, agent = *agent, takeover, live, delivery](Status status) {
                 std::shared_ptr<Connection> conn = weak.lock();
                 if (!*live || !conn || conn->closed()) {
                   // Gone while the swarm answered: the name is no longer used here.
                   if (status.ok() && !bus_.holds(agent)) bus_.route()->forgotten(agent);
                   if (status.ok() && bus_.holds(agent) && !bus_.connected(agent)) {
                     bus_.route()->detached(agent);
                   }
                   return;
                 }
                 std::size_t waiting = 0;
                 if (status.ok()) status = bus_.attach(conn->session(), agent, takeover, waiting);
                 if (!status.ok()) {
                   conn->finish_deferred_reply([req, status] {
                     return error_line(req ? &*req : nullptr, status.code(), status.message());
                   });
                   return;
                 }
                 conn->finish_deferred_reply([this, req, agent, waiting, delivery] {
                   return hello_reply(req ? &*req : nullptr, agent, waiting, delivery);
                 });
                 conn->pump();
               });
}

std::string RequestHandler::hello_reply(ReqId req, const std::optional<std::string>& agent,
                                        std::size_t waiting, Delivery delivery,
                                        bool mailbox) const {
  HelloReply reply;
  reply.waiting = waiting;
  reply.mailbox = mailbox;
  reply.ack = delivery.ack;
  if (delivery.ack && delivery.credit != Delivery{}.credit) reply.credit = delivery.credit;
  if (agent) reply.agent = *agent;
  std::string server = std::string("coordd/") + COORDD_VERSION;
  std::string backend = info_.backend ? info_.backend() : "none";
  reply.server = server;
  reply.epoch = info_.epoch;
  reply.seq = engine_.last_seq();
  reply.backend = backend;
  for (RootId root : engine_.root_ids()) reply.roots.push_back(engine_.root_path(root));
  return hello_line(req, reply);
}

void RequestHandler::subscribe(Connection& connection, Request& request) {
  std::optional<EventFilter> filter = read_filter(engine_, request);
  bool snapshot = request.boolean("snapshot", true);
  Subscription shape;
  shape.events = request.boolean("events", true);
  read_tap(request, shape);
  StartPoint start = read_since(request, info_.epoch, engine_.last_seq(), journal_);
  if (!filter || request.failed()) return;

  std::uint64_t seq = engine_.last_seq();
  Subscription& sub = connection.add_subscription(*filter);
  sub.snapshot_seq = seq;
  sub.events = shape.events;
  sub.messages = shape.messages;
  sub.agents = std::move(shape.agents);
  SubscribedReply reply{sub.id, seq, std::nullopt, std::nullopt};
  if (start.since) {
    sub.phase = Subscription::Phase::kReplay;
    sub.replay_after = *start.since;
    reply.resumed = true;
  } else if (snapshot || !start.not_resumed.empty()) {
    sub.phase = Subscription::Phase::kSnapshot;
    sub.resync = !start.not_resumed.empty();
    if (sub.events) {
      for (auto& [ref, record] : engine_.matching(*filter, false)) sub.snapshot.push_back(ref);
    }
    if (sub.resync) {
      reply.resumed = false;
      reply.reason = start.not_resumed;
    }
  } else {
    sub.phase = Subscription::Phase::kReplay;
    sub.replay_after = seq;
  }
  connection.reply(subscribed_line(request.req(), reply));
  connection.pump();
}

void RequestHandler::unsubscribe(Connection& connection, Request& request) {
  std::optional<std::uint64_t> sub = request.count("sub");
  if (!request.failed() && !sub) {
    request.fail("bad_field", "'sub' (the subscription number) is required");
  }
  if (request.failed()) return;
  if (!connection.remove_subscription(*sub)) {
    request.fail("unknown_sub", "no subscription " + std::to_string(*sub) + " on this connection");
    return;
  }
  connection.reply(unsubscribed_line(request.req(), *sub));
}

void RequestHandler::sync(Connection& connection, Request& request) {
  constexpr std::uint64_t kDefaultTimeoutMs = 10'000;
  constexpr std::uint64_t kMaxTimeoutMs = 600'000;
  std::uint64_t timeout_ms = request.count("timeout_ms").value_or(kDefaultTimeoutMs);
  if (timeout_ms > kMaxTimeoutMs) {
    request.fail("bad_field", "'timeout_ms' must be at most " + std::to_string(kMaxTimeoutMs));
  }
  std::string scope = request.string("scope").value_or("local");
  if (!request.failed() && scope != "local" && scope != "cluster") {
    request.fail("bad_field", "'scope' must be \"local\" or \"cluster\"");
  }
  if (!request.failed() && scope == "cluster" && info_.cluster == nullptr) {
    request.fail("bad_field",
                 "'scope' \"cluster\" needs a daemon in a swarm (started with --cluster)");
  }
  if (request.failed()) return;
  std::weak_ptr<Connection> weak = connection.weak_from_this();
  std::optional<json::value> req;
  if (request.req()) req = *request.req();
  // The requests behind this one wait for its reply (replies keep request
  // order); a client that goes away takes its barrier and cookies with it.
  struct Barriers {
    std::uint64_t cluster = 0;
    std::uint64_t local = 0;
  };
  auto barriers = std::make_shared<Barriers>();
  connection.defer_reply([this, barriers] {
    if (barriers->cluster != 0 && info_.cluster) info_.cluster->cancel_barrier(barriers->cluster);
    sync_.cancel(barriers->local);
  });
  auto done = [this, weak, req, timeout_ms](SyncOutcome outcome) {
    std::shared_ptr<Connection> conn = weak.lock();
    if (!conn || conn->closed()) return;
    if (!outcome.in_time) {
      std::string late;
      for (const std::string& root : outcome.late_roots) late += (late.empty() ? "" : ", ") + root;
      conn->finish_deferred_reply([req, timeout_ms, late] {
        return error_line(req ? &*req : nullptr, "sync_timeout",
                          "the watcher did not confirm the sync within " +
                              std::to_string(timeout_ms) + " ms (no word from: " + late +
                              "); retry, or raise timeout_ms");
      });
      return;
    }
    std::vector<DegradedRoot> degraded;
    for (auto& [root, reason] : outcome.degraded) degraded.push_back({root, reason});
    // The seq is read when the line is queued, after every event it vouches for.
    conn->finish_deferred_reply([this, req, degraded = std::move(degraded)] {
      return synced_line(req ? &*req : nullptr, engine_.last_seq(), degraded);
    });
  };
  // A read-only client may not create files: its sync rescans instead.
  bool may_write = connection.access() == Access::kFull;
  if (scope == "local") {
    barriers->local =
        sync_.start(std::chrono::milliseconds(timeout_ms), may_write, std::move(done));
    return;
  }
  // The swarm's changes first, then the local barrier as for scope "local".
  barriers->cluster = info_.cluster->barrier(
      std::chrono::milliseconds(timeout_ms),
      [this, weak, req, timeout_ms, may_write, barriers, done = std::move(done)](Status status) {
        barriers->cluster = 0;
        std::shared_ptr<Connection> conn = weak.lock();
        if (!conn || conn->closed()) return;
        if (!status.ok()) {
          conn->finish_deferred_reply([req, status] {
            return error_line(req ? &*req : nullptr, status.code(), status.message());
          });
          return;
        }
        barriers->local = sync_.start(std::chrono::milliseconds(timeout_ms), may_write, done);
      });
}

void RequestHandler::send(Connection& connection, Request& request) {
  send_or_broadcast(connection, request, false);
}

void RequestHandler::broadcast(Connection& connection, Request& request) {
  send_or_broadcast(connection, request, true);
}

void RequestHandler::send_or_broadcast(Connection& connection, Request& request, bool broadcast) {
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
  if (Status valid = validate_message(message, connection.sender()); !valid.ok()) {
    request.fail(valid.code(), valid.message());
    return;
  }
  if (!broadcast && bus_.route() && bus_.route()->routes(connection.sender(), *to)) {
    // For an agent on another host: the reply waits for the swarm to store it.
    std::weak_ptr<Connection> weak = connection.weak_from_this();
    std::optional<json::value> req;
    if (request.req()) req = *request.req();
    auto live = std::make_shared<bool>(true);
    connection.defer_reply([live] { *live = false; });
    bus_.route()->send(connection.sender(), *to, std::move(message),
                       [weak, req, live](SendOutcome outcome) {
                         std::shared_ptr<Connection> conn = weak.lock();
                         if (!*live || !conn || conn->closed()) return;
                         conn->finish_deferred_reply([req, outcome] {
                           const json::value* id = req ? &*req : nullptr;
                           if (!outcome.status.ok()) {
                             return error_line(id, outcome.status.code(), outcome.status.message());
                           }
                           return sent_line(id, outcome.seq, std::nullopt);
                         });
                       });
    return;
  }
  SendOutcome outcome = broadcast ? bus_.broadcast(connection.sender(), std::move(message))
                                  : bus_.send(connection.sender(), *to, std::move(message));
  if (!outcome.status.ok()) {
    request.fail(outcome.status.code(), outcome.status.message());
    return;
  }
  connection.reply(sent_line(request.req(), outcome.seq,
                             broadcast ? std::optional(outcome.recipients) : std::nullopt,
                             outcome.lower_bound));
}

void RequestHandler::ack(Connection& connection, Request& request) {
  std::optional<std::uint64_t> seq = request.count("seq");
  std::optional<std::uint64_t> upto = request.count("upto");
  if (!request.failed() && seq.has_value() == upto.has_value()) {
    request.fail("bad_field",
                 "'ack' takes one of 'seq' (one message) and 'upto' (every message up to it)");
  }
  Mailbox* mailbox = connection.acking_mailbox();
  if (!request.failed() && !mailbox) {
    request.fail("bad_field",
                 "this connection receives no acknowledged messages: say hello with \"agent\" "
                 "and \"ack\":true first");
  }
  if (request.failed()) return;
  std::size_t acked = mailbox->ack(seq ? *seq : *upto, upto.has_value());
  connection.reply(acked_line(request.req(), acked, mailbox->unacked()));
  if (acked) connection.pump();  // credit came back
}

void RequestHandler::watch_root(Connection& connection, Request& request) {
  std::optional<std::string> path = request.string("path");
  if (!request.failed() && (!path || path->empty() || (*path)[0] != '/')) {
    request.fail("bad_field", "'path' must be the absolute path of a repository directory");
  }
  if (request.failed()) return;
  std::string problem = root_problem(*path);
  std::error_code ec;
  std::string canonical = std::filesystem::canonical(*path, ec).string();
  if (problem.empty() && ec) problem = "cannot be resolved: " + ec.message();
  if (problem.empty()) {
    if (Status allowed = check_root_authority(canonical, connection.peer().uid); !allowed.ok()) {
      request.fail(allowed.code(), allowed.message());
      return;
    }
    Status added = monitor_.add_root(canonical);
    if (!added.ok()) problem = added.message().empty() ? "cannot be watched" : added.message();
  }
  if (!problem.empty()) {
    request.fail("bad_root", *path + " " + problem);
    return;
  }
  connection.reply(watching_line(request.req(), canonical,
                                 monitor_.backend_of(*engine_.find_root(canonical)),
                                 engine_.last_seq()));
}

void RequestHandler::unwatch_root(Connection& connection, Request& request) {
  std::optional<std::string> path = request.string("path");
  if (!request.failed() && !path) request.fail("bad_field", "'path' (a watched root) is required");
  if (request.failed()) return;
  std::error_code ec;
  std::string watched = std::filesystem::weakly_canonical(*path, ec).string();
  if (ec || !engine_.find_root(watched)) watched = *path;
  if (!engine_.find_root(watched)) {
    request.fail("unknown_root", *path + " is not a watched root");
    return;
  }
  if (Status allowed = check_root_authority(watched, connection.peer().uid); !allowed.ok()) {
    request.fail(allowed.code(), allowed.message());
    return;
  }
  monitor_.remove_root(watched);
  connection.reply(unwatched_line(request.req(), watched, engine_.last_seq()));
}

void RequestHandler::list(Connection& connection, Request& request) {
  std::optional<EventFilter> filter = read_filter(engine_, request);
  bool active_only = request.boolean("active_only", false);
  if (!filter || request.failed()) return;
  ListWriter writer(request.req(), engine_.last_seq());
  for (const auto& [ref, record] : engine_.matching(*filter, active_only)) {
    ListEntry entry{ref.kind,
                    ref.id,
                    engine_.root_json(ref.root),
                    record->seq,
                    false,
                    false,
                    std::nullopt,
                    record->data_json(),
                    engine_.origin_json(ref.root)};
    std::string expiry;
    if (auto lease = engine_.leases().state_of(ref)) {
      entry.lease = true;
      entry.active = lease->active;
      if (lease->effective_expiry) {
        expiry = format_timestamp(*lease->effective_expiry);
        entry.effective_expires_at = expiry;
      }
    }
    writer.add(entry);
  }
  connection.reply(std::move(writer).finish());
}

void RequestHandler::status(Connection& connection, Request& request) {
  StatusSources sources{monitor_, journal_, manager_, sync_, bus_, limits_, info_};
  connection.reply(reply_line(request.req(), "status", status_fields(sources)));
}

void RequestHandler::ping(Connection& connection, Request& request) {
  connection.reply(pong_line(request.req()));
}

// Blocks the reactor on purpose so tests can see the watchdog stop.
void RequestHandler::debug_stall(Connection& connection, Request& request) {
  std::this_thread::sleep_for(std::chrono::milliseconds(request.count("ms").value_or(0)));
  connection.reply(reply_line(request.req(), "stalled", {}));
}

}  // namespace coordd
