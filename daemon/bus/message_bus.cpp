#include "daemon/bus/message_bus.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <set>

#include "daemon/server/connection.hpp"
#include "daemon/server/connection_manager.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/server/request_handler.hpp"

namespace coordd {

MessageBus::MessageBus(boost::asio::io_context& io, Engine& engine, ConnectionManager& manager,
                       MessageLimits limits)
    : io_(io), engine_(engine), manager_(manager), limits_(limits) {}

std::string MessageBus::attach(Connection& connection, const std::string& agent, bool takeover,
                               std::size_t& waiting) {
  auto it = agents_.find(agent);
  if (it == agents_.end()) {
    it = agents_.try_emplace(agent, limits_.mailbox_messages, limits_.mailbox_bytes).first;
  }
  Agent& entry = it->second;
  if (entry.connection && entry.connection != &connection) {
    if (!takeover) return "agent_taken";
    Connection* old = entry.connection;
    entry.connection = nullptr;
    old->set_agent(std::nullopt, nullptr);
    old->close_with(RequestHandler::error_line(
        nullptr, "taken_over",
        "another connection said hello as agent '" + agent + "' with takeover; closing this one"));
    spdlog::info("agent {} taken over by client {}", agent, connection.id());
  }
  if (entry.expiry) {
    entry.expiry->cancel();
    entry.expiry.reset();
  }
  entry.connection = &connection;
  waiting = entry.mailbox.size();
  connection.set_agent(agent, &entry.mailbox);
  return "";
}

void MessageBus::detach(Connection& connection) {
  if (!connection.agent()) return;
  auto it = agents_.find(*connection.agent());
  if (it == agents_.end() || it->second.connection != &connection) return;
  Agent& entry = it->second;
  entry.connection = nullptr;
  std::string agent = it->first;
  entry.expiry = std::make_unique<boost::asio::steady_timer>(io_, limits_.mailbox_ttl);
  entry.expiry->async_wait([this, agent](const boost::system::error_code& ec) {
    if (ec) return;
    auto found = agents_.find(agent);
    if (found == agents_.end() || found->second.connection) return;
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
      encode_message_body(event->seq, from_json, to, format_timestamp(engine_.clock().now()),
                          boost::json::serialize(message)));
  return event;
}

SendOutcome MessageBus::send(const std::optional<std::string>& from, const std::string& to,
                             boost::json::object message) {
  SendOutcome outcome;
  auto it = agents_.find(to);
  if (it == agents_.end()) {
    outcome.error_code = "not_subscribed";
    outcome.error_message = "agent " + to + " is not subscribed (it never said hello, or its "
                            "mailbox expired after the mailbox TTL)";
    return outcome;
  }
  Mailbox& mailbox = it->second.mailbox;
  std::size_t estimate = boost::json::serialize(message).size() + 256;
  if (!mailbox.has_room(estimate)) {
    outcome.error_code = "mailbox_full";
    outcome.error_message = "agent " + to + "'s mailbox is full (" +
                            std::to_string(mailbox.size()) + " messages, " +
                            std::to_string(mailbox.bytes()) +
                            " bytes); retry once it has read its messages";
    return outcome;
  }
  EventPtr event = make_message(from, to, message);
  mailbox.push(event);
  manager_.publish(event);  // journal and taps
  if (Connection* connection = it->second.connection) connection->pump();
  outcome.seq = event->seq;
  return outcome;
}

SendOutcome MessageBus::broadcast(const std::optional<std::string>& from,
                                  boost::json::object message) {
  EventPtr event = make_message(from, "*", message);
  std::set<const Connection*> recipients;
  for (auto& [agent, entry] : agents_) {
    if (!entry.connection) continue;  // retained mailboxes do not get broadcasts
    if (entry.mailbox.has_room(event->body->size())) {
      entry.mailbox.push(event);
      recipients.insert(entry.connection);
    } else {
      entry.mailbox.note_dropped(event->seq);
    }
  }
  std::vector<const Connection*> taps;
  manager_.publish_to_all(event, &taps);
  recipients.insert(taps.begin(), taps.end());
  for (auto& [agent, entry] : agents_) {
    if (entry.connection) entry.connection->pump();
  }
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
  for (const auto& [agent, entry] : agents_) n += entry.connection != nullptr;
  return n;
}

std::size_t MessageBus::messages_waiting() const {
  std::size_t n = 0;
  for (const auto& [agent, entry] : agents_) n += entry.mailbox.size();
  return n;
}

}  // namespace coordd
