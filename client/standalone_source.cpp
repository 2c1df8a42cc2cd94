#include "client/standalone_source.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <stdexcept>

#include "client/stop_signals.hpp"

namespace coordd {
namespace json = boost::json;

StandaloneSource::StandaloneSource(WatchPlan plan)
    : plan_(std::move(plan)), monitor_(io_, MonitorOptions{}) {}

StandaloneSource::~StandaloneSource() { monitor_.set_sink(nullptr); }

std::string StandaloneSource::start() {
  // The signal_set replaces StopSignals' handlers; a signal that came before
  // it is seen through StopSignals::requested() in run().
  signals_ = std::make_unique<boost::asio::signal_set>(io_, SIGINT, SIGTERM);
  try {
    monitor_.start({plan_.root});
  } catch (const std::exception& e) {
    return e.what();
  }
  if (plan_.kind) filter_.kinds.add(*plan_.kind);
  filter_.run_id = plan_.run_id;
  filter_.branch = plan_.branch;
  filter_.root = monitor_.engine().find_root(plan_.root);
  return "";
}

WatchError StandaloneSource::run(const EventHandler& on_event) {
  on_event_ = &on_event;
  if (StopSignals::requested()) return "";
  const Engine& engine = monitor_.engine();
  for (const auto& [ref, record] : engine.matching(filter_, false)) {
    if (!deliver(engine.snapshot_body(ref, *record))) return "";
  }
  if (plan_.once) return "";

  signals_->async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) finish();
  });
  boost::asio::steady_timer timeout(io_);
  if (plan_.timeout) {
    timeout.expires_after(*plan_.timeout);
    timeout.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) finish();
    });
  }
  monitor_.set_sink(this);
  io_.run();
  monitor_.set_sink(nullptr);
  return "";
}

void StandaloneSource::publish(const EventPtr& event) {
  if (finished_ || !filter_.matches(event->root, event->kind, event->run_id, event->branch)) return;
  if (!deliver(*event->body)) finish();
}

bool StandaloneSource::deliver(std::string_view body) {
  // The body is an event object without its opening `{"type":"event","sub":N,`.
  std::string line = "{" + std::string(body);
  boost::system::error_code ec;
  json::value parsed = json::parse(line, ec);
  if (ec || !parsed.is_object()) return true;
  return (*on_event_)(parsed.get_object());
}

void StandaloneSource::finish() {
  finished_ = true;
  monitor_.stop();
  io_.stop();
}

}  // namespace coordd
