#include "tests/soak/roaming_subscriber.hpp"

#include "tests/soak/soak_fixture.hpp"

namespace coordd::soak {
namespace {

constexpr std::uint64_t kSyncTimeoutMs = 2'000;
constexpr int kMaxFinishAttempts = 20;
// A read returns at least this often, so a stop is noticed promptly.
constexpr auto kReadSlice = 100ms;

std::string describe(const std::optional<json::object>& reply) {
  return reply ? json::serialize(*reply) : std::string("no reply");
}

}  // namespace

RoamingSubscriber::RoamingSubscriber(fs::path socket, RoamingPlan plan)
    : socket_(std::move(socket)),
      plan_(std::move(plan)),
      subscriber_(socket_, plan_.filters),
      random_(plan_.seed) {}

bool RoamingSubscriber::fail(std::string why) {
  if (error_.empty()) error_ = plan_.name + ": " + std::move(why);
  return false;
}

bool RoamingSubscriber::start() {
  if (!subscriber_.connect()) return fail("connecting: " + subscriber_.error());
  auto reply = subscriber_.subscribe();
  if (!is_subscribed(reply)) return fail("subscribing: " + describe(reply));
  ++counts_.fresh_subscriptions;
  return true;
}

bool RoamingSubscriber::resume() {
  auto reply = subscriber_.resume();
  stalled_since_connecting_ = false;
  if (!is_subscribed(reply))
    return fail("resuming: " + describe(reply) + " " + subscriber_.error());
  return true;
}

bool RoamingSubscriber::resubscribe() {
  subscriber_.disconnect();
  stalled_since_connecting_ = false;
  if (!subscriber_.connect()) return fail("reconnecting: " + subscriber_.error());
  auto reply = subscriber_.subscribe();
  if (!is_subscribed(reply)) return fail("subscribing afresh: " + describe(reply));
  ++counts_.fresh_subscriptions;
  return true;
}

void RoamingSubscriber::count(const json::object& line) {
  ++counts_.lines;
  const json::value& type = line.at("type");
  if (type == "event" && line.at("event_type") == "expired") {
    const json::value* cause = line.if_contains("cause");
    ++(cause && *cause == "released" ? counts_.expired_by_release : counts_.expired_by_ttl);
  }
  if (type == "message") ++counts_.messages;
}

bool RoamingSubscriber::read_until(SteadyClock::time_point until, std::stop_token stop) {
  json::object line;
  while (!stop.stop_requested() && SteadyClock::now() < until) {
    auto read = subscriber_.read_line(line, std::min(until, SteadyClock::now() + kReadSlice));
    if (read == lossless::Subscriber::Read::kTimeout) continue;
    if (read == lossless::Subscriber::Read::kFailed) {
      // coordd closes a subscriber only as a slow consumer, which only a
      // stall can make it; the final slow_consumer line may be lost if the
      // stall outlasted coordd's close timeout too.
      if (!stalled_since_connecting_) return fail("the connection failed: " + subscriber_.error());
      ++counts_.cut_off;
      if (!resume()) return false;
      continue;
    }
    count(line);
    if (subscriber_.checker().lag_pending()) {
      ++counts_.lag_resumes;
      if (!resume()) return false;
    }
  }
  return true;
}

std::string RoamingSubscriber::run(std::stop_token stop, std::chrono::seconds sync_deadline) {
  const RoamingHabits& habits = plan_.habits;
  auto between = [&](std::chrono::milliseconds low, std::chrono::milliseconds high) {
    return std::chrono::milliseconds(
        std::uniform_int_distribution<long long>(low.count(), high.count())(random_));
  };
  while (!stop.stop_requested() && error_.empty()) {
    unsigned roll = unsigned(random_() % 100);
    if (roll < habits.stall_percent) {
      ++counts_.stalls;
      stalled_since_connecting_ = true;
      pause_for(stop, between(habits.stall_min, habits.stall_max));
    } else if (roll < habits.stall_percent + habits.resume_percent) {
      ++counts_.planned_resumes;
      if (!resume()) break;
    } else if (roll < habits.stall_percent + habits.resume_percent + habits.resubscribe_percent) {
      if (!resubscribe()) break;
    }
    if (!read_until(SteadyClock::now() + between(habits.read_min, habits.read_max), stop)) break;
  }
  if (!error_.empty()) return error_;
  return finish(sync_deadline);
}

std::string RoamingSubscriber::finish(std::chrono::seconds sync_deadline) {
  // The writers have stopped: a sync now vouches for the final state, unless
  // a lag marker (or a cut-off after the last stall) says a resume is owed.
  auto deadline = SteadyClock::now() + sync_deadline;
  for (int attempt = 0; attempt < kMaxFinishAttempts; ++attempt) {
    if (subscriber_.sync(kSyncTimeoutMs, deadline)) {
      if (!subscriber_.checker().lag_pending()) return "";
      ++counts_.lag_resumes;
    } else if (stalled_since_connecting_) {
      ++counts_.cut_off;
    } else {
      fail("the final sync failed: " + subscriber_.error());
      return error_;
    }
    if (!resume()) return error_;
  }
  fail("still lagging after " + std::to_string(kMaxFinishAttempts) + " syncs and resumes");
  return error_;
}

}  // namespace coordd::soak
