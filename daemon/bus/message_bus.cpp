#include "daemon/bus/message_bus.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <set>

#include "daemon/engine/engine.hpp"
#include "proto/wire.hpp"

namespace coordd {

MessageBus::MessageBus(boost::asio::io_context& io, Engine& engine, MessageFanout& fanout,
                       MessageLimits limits)
    : io_(io), engine_(engine), fanout_(fanout), limits_(limits) {}

Status MessageBus::attach(const std::shared_ptr<AgentSession>& session, const std::string& agent,
                          bool takeover, std::size_t& waiting) {
  auto it = agents_.find(agent);
  if (it == agents_.end()) {
    it = agents_.try_emplace(agent, limits_.mailbox_messages, limits_.mailbox_bytes).first;
  }
  Agent& entry = it->second;
  std::shared_ptr<AgentSession> old = entry.session.lock();
  if (old && old != session) {
    if (!takeover) {
      return Status::error("agent_taken", "agent '" + agent +
                                              "' is connected elsewhere; say hello with "
                                              "\"takeover\":true to replace that connection");
    }
    entry.session.reset();
    old->set_agent(std::nullopt, nullptr);
    old->close_with(error_line(
        nullptr, "taken_over",
        "another connection said hello as agent '" + agent + "' with takeover; closing this one"));
    spdlog::info("agent {} taken over by client {}", agent, session->session_id());
  }
  if (entry.expiry) {
    entry.expiry->cancel();
    entry.expiry.reset();
  }
  entry.session = session;
  waiting = entry.mailbox.size();
  session->set_agent(agent, &entry.mailbox);
  return Status();
}

void MessageBus::detach(const AgentSession& session, const std::string& agent) {
  auto it = agents_.find(agent);
  if (it == agents_.end()) return;
  Agent& entry = it->second;
  // A session being destroyed can no longer be locked: compare without.
  std::shared_ptr<AgentSession> live = entry.session.lock();
  if (live && live.get() != &session) return;
  entry.session.reset();
  entry.expiry = engine_.clock().make_alarm(io_.get_executor());
  entry.expiry->arm(limits_.mailbox_ttl, [this, agent] {
    auto found = agents_.find(agent);
    if (found == agents_.end() || !found->second.session.expired()) return;
    if (!found->second.mailbox.empty()) {
      spdlog::warn("agent {} did not come back within the mailbox TTL; dropping {} message(s)",
                   agent, found->second.mailbox.size());
    }
    agents_.erase(found);
  });
}

EventPtr MessageBus::make_message(const std::optional<std::string>& from, std::string_view to,
                                  const boost::json::object& message) {
  auto event = std::make_shared<Event>();
  event->seq = engine_.allocate_seq();
  event->is_message = true;
  event->from = from.value_or("");
  event->to = std::string(to);
  std::string from_json = from ? "\"" + *from + "\"" : std::string("null");  // ids are JSON-safe
  event->body = std::make_shared<const std::string>(
      message_body(event->seq, from_json, to, format_timestamp(engine_.clock().now()),
                   boost::json::serialize(message)));
  return event;
}

SendOutcome MessageBus::send(const std::optional<std::string>& from, const std::string& to,
                             boost::json::object message) {
  SendOutcome outcome;
  auto it = agents_.find(to);
  if (it == agents_.end()) {
    outcome.status =
        Status::error("not_subscribed", "agent " + to +
                                            " is not subscribed (it never said hello, or "
                                            "its mailbox expired after the mailbox TTL)");
    return outcome;
  }
  Mailbox& mailbox = it->second.mailbox;
  std::size_t estimate = boost::json::serialize(message).size() + 256;
  if (!mailbox.has_room(estimate)) {
    outcome.status = Status::error(
        "mailbox_full", "agent " + to + "'s mailbox is full (" + std::to_string(mailbox.size()) +
                            " messages, " + std::to_string(mailbox.bytes()) +
                            " bytes); retry once it has read its "
                            "messages");
    return outcome;
  }
  EventPtr event = make_message(from, to, message);
  mailbox.push(event);
  fanout_.publish_message(event, nullptr);  // journal and taps
  if (auto session = it->second.session.lock()) session->mailbox_ready();
  outcome.seq = event->seq;
  return outcome;
}

SendOutcome MessageBus::broadcast(const std::optional<std::string>& from,
                                  boost::json::object message) {
  EventPtr event = make_message(from, "*", message);
  std::set<const AgentSession*> recipients;
  std::vector<std::shared_ptr<AgentSession>> live;
  for (auto& [agent, entry] : agents_) {
    std::shared_ptr<AgentSession> session = entry.session.lock();
    if (!session) continue;  // retained mailboxes do not get broadcasts
    if (entry.mailbox.has_room(event->body->size())) {
      entry.mailbox.push(event);
      recipients.insert(session.get());
    } else {
      entry.mailbox.note_dropped(event->seq);
    }
    live.push_back(std::move(session));
  }
  std::vector<const AgentSession*> taps;
  fanout_.publish_message(event, &taps);
  recipients.insert(taps.begin(), taps.end());
  for (auto& session : live) session->mailbox_ready();
  SendOutcome outcome;
  outcome.seq = event->seq;
  outcome.recipients = recipients.size();
  return outcome;
}

Mailbox* MessageBus::mailbox_of(const std::string& agent) {
  auto it = agents_.find(agent);
  return it == agents_.end() ? nullptr : &it->second.mailbox;
}

std::size_t MessageBus::agents_connected() const {
  std::size_t n = 0;
  for (const auto& [agent, entry] : agents_) n += !entry.session.expired();
  return n;
}

std::size_t MessageBus::messages_waiting() const {
  std::size_t n = 0;
  for (const auto& [agent, entry] : agents_) n += entry.mailbox.size();
  return n;
}

}  // namespace coordd
