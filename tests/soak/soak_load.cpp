#include "tests/soak/soak_load.hpp"

#include <algorithm>
#include <sstream>

namespace coordd::soak {
namespace {

constexpr std::size_t kWriters = 2;
constexpr double kWritesPerSecond = 250;  // per writer
constexpr auto kFinalSyncDeadline = 30s;

bool any_record(std::string_view, const json::object&) { return true; }

lossless::RecordFilter kind_dirs(std::vector<std::string> dirs) {
  return [dirs](std::string_view dir, const json::object&) {
    return std::find(dirs.begin(), dirs.end(), dir) != dirs.end();
  };
}

bool of_run_a(std::string_view, const json::object& record) {
  const json::value* run = record.if_contains("run_id");
  return run && *run == "run-a";
}

std::vector<RoamingPlan> roaming_plans(std::uint32_t seed) {
  RoamingHabits steady;
  // Long stalls under coordd's 4 s slow-consumer grace: lags, and cut-offs.
  RoamingHabits stalling{.stall_percent = 35,
                         .resume_percent = 5,
                         .resubscribe_percent = 0,
                         .read_min = 200ms,
                         .read_max = 1000ms,
                         .stall_min = 1000ms,
                         .stall_max = 7000ms};
  RoamingHabits restless{.stall_percent = 8, .resume_percent = 10, .resubscribe_percent = 12};
  return {
      {"everything", {}, any_record, steady, seed + 1},
      {"everything, stalling for long", {}, any_record, stalling, seed + 2},
      {"leases and what points at them",
       {{"kinds", json::array{"reservation", "heartbeat", "release", "claim"}}},
       kind_dirs({"reservations", "heartbeats", "releases", "claims"}),
       steady,
       seed + 3},
      {"run_id=run-a", {{"run_id", "run-a"}}, of_run_a, steady, seed + 4},
      {"tasks and intents, often starting afresh",
       {{"kinds", json::array{"task", "intent"}}},
       kind_dirs({"tasks", "intents"}),
       restless,
       seed + 5},
      {"everything plus a tap of all messages",
       {{"messages", "all"}},
       any_record,
       steady,
       seed + 6},
  };
}

std::vector<AgentPlan> agent_plans(std::uint32_t seed) {
  return {
      {"orchestrator", {"worker-1", "worker-2", "worker-3"}, seed + 11},
      {"worker-1", {"orchestrator", "worker-2"}, seed + 12, 20, 15, 2, /*ack=*/true},
      {"worker-2", {"orchestrator", "worker-3"}, seed + 13, 20, 15, 2, /*ack=*/true},
      {"worker-3", {"orchestrator", "worker-1"}, seed + 14},
  };
}

}  // namespace

SoakLoad::SoakLoad(const Workspace& ws, std::uint32_t seed) {
  for (std::size_t i = 0; i < kWriters; ++i) {
    writers_.emplace_back(ws.coordination(),
                          SoakWriterOptions{.id_prefix = "w" + std::to_string(i),
                                            .seed = seed + 100 + std::uint32_t(i),
                                            .operations_per_second = kWritesPerSecond,
                                            .leave_alone = kChurnedKindDir});
  }
  churner_.emplace(ws.coordination(), seed + 200);
  for (RoamingPlan& plan : roaming_plans(seed)) {
    subscribers_.push_back(std::make_unique<RoamingSubscriber>(ws.socket(), std::move(plan)));
  }
  for (AgentPlan& plan : agent_plans(seed)) {
    agents_.push_back(std::make_unique<MessagingAgent>(ws.socket(), std::move(plan)));
  }
  writer_errors_.resize(writers_.size());
  subscriber_errors_.resize(subscribers_.size());
  agent_errors_.resize(agents_.size());
}

SoakLoad::~SoakLoad() { stop(); }

bool SoakLoad::start() {
  // Every agent says hello before any sends, so no send meets an unknown agent.
  for (auto& subscriber : subscribers_) {
    if (!subscriber->start()) error_ = subscriber->error();
  }
  for (auto& agent : agents_) {
    if (!agent->connect()) error_ = agent->error();
  }
  if (!error_.empty()) return false;
  for (std::size_t i = 0; i < subscribers_.size(); ++i) {
    subscriber_threads_.push_back(
        load_thread(subscriber_errors_[i], [this, i](std::stop_token stop) {
          return subscribers_[i]->run(stop, kFinalSyncDeadline);
        }));
  }
  for (std::size_t i = 0; i < agents_.size(); ++i) {
    agent_threads_.push_back(load_thread(
        agent_errors_[i], [this, i](std::stop_token stop) { return agents_[i]->run(stop); }));
  }
  for (std::size_t i = 0; i < writers_.size(); ++i) {
    writer_threads_.push_back(load_thread(writer_errors_[i], [this, i](std::stop_token stop) {
      return writers_[i].run(stop) ? std::string() : writers_[i].error();
    }));
  }
  writer_threads_.push_back(
      load_thread(churner_error_, [this](std::stop_token stop) { return churner_->run(stop); }));
  return true;
}

void SoakLoad::stop() {
  writer_threads_.clear();  // a jthread asks its thread to stop, then joins it
  agent_threads_.clear();
  subscriber_threads_.clear();
}

void SoakLoad::disconnect() {
  for (auto& subscriber : subscribers_) subscriber->disconnect();
  for (auto& agent : agents_) agent->disconnect();
}

std::vector<std::string> SoakLoad::errors() const {
  std::vector<std::string> errors;
  for (const auto* list : {&writer_errors_, &subscriber_errors_, &agent_errors_}) {
    for (const std::string& error : *list) {
      if (!error.empty()) errors.push_back(error);
    }
  }
  if (!churner_error_.empty()) errors.push_back(churner_error_);
  return errors;
}

std::vector<std::string> SoakLoad::differences_from(const RecordsByKind& disk) const {
  std::vector<std::string> out;
  for (const auto& subscriber : subscribers_) {
    const RoamingPlan& plan = subscriber->plan();
    for (const std::string& problem :
         subscriber->checker().verify(lossless::only_matching(disk, plan.matches))) {
      out.push_back(plan.name + ": " + problem);
    }
  }
  return out;
}

SoakLoad::Totals SoakLoad::totals() const {
  Totals totals;
  for (const auto& subscriber : subscribers_) {
    totals.expired_by_ttl += subscriber->counts().expired_by_ttl;
    totals.expired_by_release += subscriber->counts().expired_by_release;
    totals.lag_markers += subscriber->checker().lag_markers();
    totals.resumes += subscriber->checker().resumes();
    totals.cut_off += subscriber->counts().cut_off;
    totals.messages += subscriber->counts().messages;
  }
  for (const auto& agent : agents_) {
    totals.messages += agent->counts().received;
    totals.redelivered += agent->counts().redelivered;
  }
  totals.directory_replacements = churner_->counts().replacements;
  totals.permission_flips = churner_->counts().permission_flips;
  return totals;
}

std::string SoakLoad::figures() const {
  SoakWriteCounts written;
  for (const SoakWriter& writer : writers_) written += writer.counts();
  std::ostringstream out;
  out << written.total() << " writes (" << written.added << " added, " << written.modified_in_place
      << " modified in place, " << written.modified_by_rename << " modified by rename, "
      << written.removed << " removed; " << written.leases_written << " leases, "
      << written.heartbeats_written << " heartbeats, " << written.releases_written << " releases); "
      << churner_->counts().replacements << " replacements and "
      << churner_->counts().permission_flips << " permission flips of " << kChurnedKindDir << "/";
  for (const auto& subscriber : subscribers_) {
    const lossless::StreamChecker& checker = subscriber->checker();
    const RoamingCounts& counts = subscriber->counts();
    out << "\n  subscriber '" << subscriber->plan().name << "': " << checker.events_received()
        << " events (" << counts.expired_by_ttl << " expired by ttl, " << counts.expired_by_release
        << " by release), " << counts.messages << " tap messages, " << checker.lag_markers()
        << " lag marker(s), " << checker.resumes() << " resume(s), " << checker.resyncs()
        << " resync(s), " << counts.stalls << " stall(s), " << counts.cut_off
        << " cut off as slow, " << counts.fresh_subscriptions << " fresh subscription(s)";
  }
  for (const auto& agent : agents_) {
    const AgentCounts& counts = agent->counts();
    out << "\n  agent '" << agent->plan().agent << "': sent " << counts.sent << " + "
        << counts.broadcasts << " broadcasts, received " << counts.received << ", "
        << counts.mailbox_full << " mailbox_full, " << counts.lag_markers << " lag marker(s), "
        << counts.reconnects << " reconnect(s)";
    if (agent->plan().ack) out << ", acking: " << counts.redelivered << " redelivered";
  }
  return out.str();
}

}  // namespace coordd::soak
