#include "client/standalone_source.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <stdexcept>

#include "client/exact_json.hpp"
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

Baseline StandaloneSource::baseline() const {
  const Engine& engine = monitor_.engine();
  EventFilter every_record;  // of the kind: the view applies run_id and branch itself
  if (plan_.kind) every_record.kinds.add(*plan_.kind);
  every_record.root = filter_.root;
  Baseline out;
  out.seq = engine.last_seq();
  for (const auto& [ref, record] : engine.matching(every_record, false)) {
    boost::system::error_code ec;
    json::value data = parse_exact_json(record->data_json(), ec);
    if (ec || !data.is_object()) continue;
    BaselineRecord entry;
    entry.kind = ref.kind;
    entry.id = ref.id;
    entry.seq = record->seq;
    entry.data = std::move(data.get_object());
    if (auto lease = engine.leases().state_of(ref)) {
      entry.lease = true;
      entry.active = lease->active;
      entry.effective_expiry = lease->effective_expiry;
    }
    out.records.push_back(std::move(entry));
  }
  return out;
}

WatchError StandaloneSource::run(WatchView& view, WatchDeadline& deadline) {
  view_ = &view;
  if (StopSignals::requested()) return "";
  if (!view.rebase(baseline()) || plan_.once) return "";
  if (plan_.timeout && !deadline) deadline = std::chrono::steady_clock::now() + *plan_.timeout;

  signals_->async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) finish();
  });
  boost::asio::steady_timer timeout(io_);
  if (deadline) {
    timeout.expires_at(*deadline);
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
  // The body is an event object without its opening `{"type":"event","sub":N,`.
  boost::system::error_code ec;
  json::value parsed = parse_exact_json("{" + *event->body, ec);
  if (ec || !parsed.is_object()) return;
  if (!view_->live(parsed.get_object())) finish();
}

void StandaloneSource::finish() {
  finished_ = true;
  monitor_.stop();
  io_.stop();
}

}  // namespace coordd
