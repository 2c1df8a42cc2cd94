// RecordingSink: an EventSink that keeps every published event so tests can
// assert on exactly what the engine emitted and in which order.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "daemon/engine/engine.hpp"

namespace coordd::testing {

class RecordingSink final : public EventSink {
 public:
  void publish(const EventPtr& event) override { events.push_back(event); }

  // An event's body is `"seq":..,"data":{...}}\n`: the JSON object minus its
  // opening brace and per-subscriber fields.
  static boost::json::object parse_body(const std::string& body) {
    return boost::json::parse("{" + body).as_object();
  }
  boost::json::object body(std::size_t index) const { return parse_body(*events.at(index)->body); }

  // "added reservation/r1", one per event, for whole-sequence assertions.
  std::vector<std::string> summary() const {
    std::vector<std::string> out;
    for (const EventPtr& event : events) {
      boost::json::object object = parse_body(*event->body);
      out.push_back(std::string(object.at("event_type").as_string()) + " " +
                    std::string(object.at("kind").as_string()) + "/" +
                    std::string(object.at("id").as_string()));
    }
    return out;
  }

  std::vector<EventPtr> events;
};

}  // namespace coordd::testing
