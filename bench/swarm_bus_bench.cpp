// Swarm messages: agents talking across coordd hosts of one swarm (3 coordd,
// a, b, c, on a 3-node NATS JetStream cluster on loopback, host i on server
// i; swarm_cluster.hpp).
//
// Round trip: agent "orch" on coordd a sends a targeted additional_context
// to agent "w1" on coordd b; w1's client, on reading it, sends a reply
// message back to orch. Timed from the orchestrator's send request written
// to the reply message read by its client, one at a time. Each leg is also
// timed (every process reads one CLOCK_MONOTONIC): a's `sent` (the stream's
// quorum has the message), the message read by w1, w1's `sent`, the reply
// read by orch. Side by side, in turns on the same cluster: the floor, core
// NATS request/reply between two plain libnats clients on the servers a
// and b use (the request on a's, answered on b's), with nats.c's defaults
// as coordd's bridge has them (what is published waits for the flusher
// thread, which sleeps 1 ms first) and, informational, with SendAsap (the
// transport alone). Target (the issue): coordd p50 <= 2x the floor's p50.
//
// Broadcast: 100 agent connections spread 34/33/33 over the three coordd,
// one sender (an agent on a, whose own copies are read and not counted)
// broadcasting M cancel messages as fast as replies allow: at most kWindow
// requests without their `sent`, and at most kLead messages ahead of the
// slowest agent (well inside a mailbox's 1024, so that no broadcast is owed
// as `lagged`). Deliveries/s from the first request written until every
// agent has read all M. Side by side, in turns: the same 100 agents and
// sender on one coordd without --cluster (the local figure). Target: swarm
// >= 0.5x local.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <stdexcept>
#include <thread>

#include "bench/benchmarks.hpp"
#include "bench/coordd_process.hpp"
#include "bench/fanout_reader.hpp"
#include "bench/latency.hpp"
#include "bench/line_fields.hpp"
#include "bench/nats_probe.hpp"
#include "bench/proc_stats.hpp"
#include "bench/stats.hpp"
#include "bench/swarm_cluster.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::bench {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::size_t kAgents = 100;
constexpr std::size_t kWindow = 32;  // broadcasts written and not yet answered
constexpr std::size_t kLead = 256;   // broadcasts ahead of the slowest agent
// The floor's request: about the size of coordd's message on NATS.
constexpr std::size_t kFloorBytes = 300;
constexpr std::int64_t kStallNs = 20'000'000'000;

void expect_ok(CoordClient::Status status, CoordClient& client, const std::string& what) {
  if (status != CoordClient::Status::kOk) {
    throw std::runtime_error(what + ": " +
                             (client.error().empty() ? "timeout or closed" : client.error()));
  }
}

void hello(CoordClient& client, const std::string& agent) {
  json::object reply = call_or_throw(client, {{"op", "hello"}, {"agent", agent}});
  if (reply.at("type") == "error") {
    throw std::runtime_error("hello " + agent + ": " + json::serialize(reply));
  }
}

// The index after `prefix` in a string field of the line (-1 when absent).
long long index_after(std::string_view line, std::string_view field, std::string_view prefix) {
  std::optional<std::string_view> value = string_field(line, field);
  if (!value || !value->starts_with(prefix)) return -1;
  value->remove_prefix(prefix.size());
  long long index = -1;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), index);
  if (ec != std::errc() || end != value->data() + value->size()) return -1;
  return index;
}

bool is_type(std::string_view line, std::string_view type) {
  std::optional<std::string_view> t = string_field(line, "type");
  return t && *t == type;
}

json::object percentiles_json(const Percentiles& p) {
  return {{"p50_us", p.p50_us}, {"p99_us", p.p99_us}, {"max_us", p.max_us}, {"count", p.count}};
}

// --- round trip -----------------------------------------------------------

struct RoundTripRun {
  Percentiles round_trip;
  Percentiles to_worker;    // orch's request written -> read by w1
  Percentiles back;         // w1's reply written -> read by orch
  Percentiles orch_sent;    // orch's request written -> its `sent`
  Percentiles worker_sent;  // w1's reply written -> its `sent`
};

// orch on one coordd, w1 on another; w1's client answers on its own thread.
class RoundTrip {
 public:
  // At most `capacity` round trips over the object's life.
  RoundTrip(const CoorddProcess& orch_host, const CoorddProcess& worker_host, std::size_t capacity)
      : orch_(orch_host.connect()), worker_(worker_host.connect()), samples_(capacity) {
    hello(orch_, "orch");
    hello(worker_, "w1");
    thread_ = std::thread([this] { answer(); });
  }
  ~RoundTrip() {
    stop_.store(true);
    thread_.join();
  }

  // `count` round trips (after `warmup` discarded ones).
  RoundTripRun run(std::size_t count, std::size_t warmup) {
    std::size_t first = next_;
    for (std::size_t i = 0; i < warmup + count; ++i) one(next_++);
    std::vector<std::int64_t> rt, to_worker, back, orch_sent, worker_sent;
    for (std::size_t i = first + warmup; i < next_; ++i) {
      const Sample& s = samples_.at(i);
      rt.push_back(s.reply_read - s.written);
      to_worker.push_back(s.worker_read - s.written);
      back.push_back(s.reply_read - s.worker_read);
      orch_sent.push_back(s.orch_sent - s.written);
      worker_sent.push_back(s.worker_sent - s.worker_read);
    }
    return {percentiles(rt), percentiles(to_worker), percentiles(back), percentiles(orch_sent),
            percentiles(worker_sent)};
  }

 private:
  struct Sample {
    std::int64_t written = 0, orch_sent = 0, reply_read = 0;
    std::int64_t worker_read = 0, worker_sent = 0;  // by w1's thread
  };

  static std::string send_line(const std::string& to, const std::string& content) {
    return json::serialize(
        json::object{{"op", "send"},
                     {"to", to},
                     {"message", {{"kind", "additional_context"}, {"content", content}}}});
  }

  void one(std::size_t index) {
    Sample& s = samples_.at(index);
    std::string request = send_line("w1", "rt " + std::to_string(index));
    std::int64_t written = mono_now_ns();
    expect_ok(orch_.send_line(request, deadline_in(10s)), orch_, "orch send");
    s.written = written;
    std::string line;
    while (s.orch_sent == 0 || s.reply_read == 0) {
      expect_ok(orch_.read_line(line, deadline_in(10s)), orch_,
                "orch waiting for round trip " + std::to_string(index));
      std::int64_t now = mono_now_ns();
      if (is_type(line, "sent")) {
        s.orch_sent = now;
      } else if (is_type(line, "message") &&
                 index_after(line, "content", "re ") == (long long)index) {
        s.reply_read = now;
      } else if (is_type(line, "error")) {
        throw std::runtime_error("orch: " + line);
      }
    }
    // w1's `sent` may still be on its way; it is read before the next send.
    while (worker_done_.load(std::memory_order_acquire) <= index) std::this_thread::yield();
  }

  // w1's client: a reply to each message, on this thread.
  void answer() {
    std::string line;
    long long pending = -1;
    while (!stop_.load()) {
      CoordClient::Status status = worker_.read_line(line, deadline_in(50ms));
      if (status == CoordClient::Status::kTimeout) continue;
      if (status != CoordClient::Status::kOk) return;
      std::int64_t now = mono_now_ns();
      if (is_type(line, "message")) {
        long long index = index_after(line, "content", "rt ");
        if (index < 0 || std::size_t(index) >= samples_.size()) continue;
        samples_[std::size_t(index)].worker_read = now;
        pending = index;
        if (worker_.send_line(send_line("orch", "re " + std::to_string(index)), deadline_in(10s)) !=
            CoordClient::Status::kOk) {
          return;
        }
      } else if (is_type(line, "sent") && pending >= 0) {
        samples_[std::size_t(pending)].worker_sent = now;
        worker_done_.store(std::size_t(pending) + 1, std::memory_order_release);
        pending = -1;
      }
    }
  }

  CoordClient orch_, worker_;
  std::vector<Sample> samples_;  // sized once: w1's thread writes into it
  std::size_t next_ = 0;
  std::atomic<std::size_t> worker_done_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// --- broadcast ------------------------------------------------------------

struct BroadcastRun {
  std::size_t messages = 0;
  std::size_t delivered = 0;
  std::size_t lagged = 0;
  std::size_t errors = 0;
  double deliveries_per_s = 0;
  double sender_per_s = 0;  // broadcasts answered per second
  double span_ms = 0;
  Percentiles latency;                  // every delivery: request written -> read
  std::vector<Percentiles> latency_by;  // per coordd of the agents
  std::vector<double> coordd_cpu_ms;    // per coordd, over the run
  std::vector<double> nats_cpu_ms;      // per nats-server (swarm)
  double reader_cpu_ms = 0;
};

// kAgents agents spread over `hosts` (the first takes the remainder) plus
// the sender, an agent on hosts[0], all read by one epoll thread.
class Broadcast {
 public:
  Broadcast(std::vector<const CoorddProcess*> hosts, const std::string& name_prefix)
      : hosts_(std::move(hosts)) {
    std::size_t n = hosts_.size();
    // Every hello written first, then every reply read: in a swarm each
    // costs the holder a registry write and a mailbox consumer.
    std::vector<std::int64_t> written;
    for (std::size_t k = 0; k < kAgents; ++k) {
      // 34/33/33: agent k on host k * n / kAgents.
      std::size_t h = k * n / kAgents;
      host_of_.push_back(h);
      agents_.push_back(hosts_[h]->connect());
      char name[32];
      std::snprintf(name, sizeof name, "%s%03zu", name_prefix.c_str(), k);
      written.push_back(mono_now_ns());
      expect_ok(agents_.back().send({{"op", "hello"}, {"agent", name}}, deadline_in(10s)),
                agents_.back(), "hello");
    }
    for (std::size_t k = 0; k < kAgents; ++k) {
      std::string line;
      expect_ok(agents_[k].read_line(line, deadline_in(120s)), agents_[k], "hello reply");
      hello_ns_.push_back(mono_now_ns() - written[k]);
      if (!is_type(line, "hello")) throw std::runtime_error("hello: " + line);
    }
    // One more hello on each coordd, after the burst: its reply waits for
    // whatever that burst left queued there (in a swarm, the mailbox
    // consumers), so the rounds start on quiet hosts. The one on hosts[0]
    // is the sender.
    for (std::size_t h = 0; h < n; ++h) {
      CoordClient client = hosts_[h]->connect();
      std::int64_t start = mono_now_ns();
      hello(client, name_prefix + (h == 0 ? "sender" : "barrier" + std::to_string(h)));
      after_burst_ns_.push_back(mono_now_ns() - start);
      if (h == 0) {
        sender_ = std::move(client);
      } else {
        barriers_.push_back(std::move(client));
      }
    }
  }

  // Each agent's hello, request to reply (all written at once).
  const std::vector<std::int64_t>& hello_ns() const { return hello_ns_; }
  // Per coordd, the one hello said after those replies, request to reply.
  const std::vector<std::int64_t>& after_burst_ns() const { return after_burst_ns_; }

  std::size_t agents_on(std::size_t host) const {
    return std::size_t(std::count(host_of_.begin(), host_of_.end(), host));
  }

  // Probes until every agent read one, then M broadcasts, timed.
  BroadcastRun run(std::size_t messages, std::size_t round, std::vector<pid_t> nats_pids) {
    std::string tag = "r" + std::to_string(round) + ".";
    LatencyLog log(messages, kAgents);
    std::vector<std::atomic<std::size_t>> counts(messages);
    std::atomic<std::size_t> done_prefix{0};  // every agent has read 0..done_prefix-1
    std::atomic<std::size_t> answered{0}, errors{0}, lagged{0}, progress{0};
    std::atomic<std::int64_t> last_answer{0};
    std::vector<std::atomic<bool>> probed(kAgents);
    std::atomic<std::size_t> probed_count{0};
    const std::string probe_tag = "p" + std::to_string(round) + ".";

    std::vector<int> fds;
    std::vector<std::unique_ptr<MessageSplitter>> splitters;
    for (CoordClient& agent : agents_) fds.push_back(agent.fd());
    fds.push_back(sender_.fd());
    for (std::size_t i = 0; i < fds.size(); ++i) {
      splitters.push_back(std::make_unique<LineSplitter>());
    }
    FanoutReader reader(
        fds, std::move(splitters),
        [&](std::size_t socket, std::string_view line, std::int64_t read_ns) {
          if (socket == kAgents) {  // the sender: its `sent`s and its own copies
            if (is_type(line, "sent")) {
              answered.fetch_add(1, std::memory_order_release);
              last_answer.store(read_ns, std::memory_order_relaxed);
            } else if (is_type(line, "error")) {
              errors.fetch_add(1);
            } else {
              return;
            }
            progress.fetch_add(1, std::memory_order_release);
            progress.notify_all();
            return;
          }
          if (!is_type(line, "message")) {
            if (is_type(line, "lagged")) lagged.fetch_add(1);
            return;
          }
          long long index = index_after(line, "reason", tag);
          if (index < 0) {
            if (index_after(line, "reason", probe_tag) >= 0 && !probed[socket].exchange(true)) {
              probed_count.fetch_add(1);
            }
            return;
          }
          if (std::size_t(index) >= messages) return;
          log.mark_arrived(socket, std::size_t(index), read_ns);
          if (counts[std::size_t(index)].fetch_add(1) + 1 == kAgents) {
            std::size_t prefix = done_prefix.load(std::memory_order_relaxed);
            while (prefix < messages && counts[prefix].load() == kAgents) ++prefix;
            done_prefix.store(prefix, std::memory_order_release);
            progress.fetch_add(1, std::memory_order_release);
            progress.notify_all();
          }
        });

    auto broadcast = [&](const std::string& reason) {
      std::string line = json::serialize(
          json::object{{"op", "broadcast"}, {"message", {{"kind", "cancel"}, {"reason", reason}}}});
      expect_ok(sender_.send_line(line, deadline_in(10s)), sender_, "broadcast");
    };
    // Every agent reachable (in a swarm: every host's subscription routed).
    std::size_t written = 0;
    auto deadline = support::PollClock::now() + 30s;
    for (std::size_t k = 0; probed_count.load() < kAgents; ++k) {
      if (support::PollClock::now() > deadline) {
        throw std::runtime_error("broadcast probes reached " + std::to_string(probed_count.load()) +
                                 " of " + std::to_string(kAgents) + " agents");
      }
      broadcast(probe_tag + std::to_string(k));
      ++written;
      support::poll_until(
          support::PollClock::now() + 100ms, [&] { return probed_count.load() == kAgents; }, 1ms);
    }
    support::poll_until(
        support::PollClock::now() + 10s, [&] { return answered.load() == written; }, 1ms);
    const std::size_t base = answered.load();

    std::vector<ProcStats> before, before_nats;
    for (const CoorddProcess* host : hosts_) before.push_back(read_proc_stats(host->pid()));
    for (pid_t pid : nats_pids) before_nats.push_back(read_proc_stats(pid));
    std::int64_t start = mono_now_ns();
    for (std::size_t i = 0; i < messages; ++i) {
      for (;;) {
        std::size_t seen = progress.load(std::memory_order_acquire);
        bool window = written - (answered.load(std::memory_order_acquire)) < kWindow;
        bool lead = i - std::min(i, done_prefix.load(std::memory_order_acquire)) < kLead;
        if (window && lead) break;
        if (errors.load() > 0) throw std::runtime_error("a broadcast was refused");
        progress.wait(seen, std::memory_order_acquire);
      }
      log.mark_sent(i, mono_now_ns());
      broadcast(tag + std::to_string(i));
      ++written;
    }
    wait_for_arrivals(log, kStallNs);
    support::poll_until(
        support::PollClock::now() + 10s, [&] { return answered.load() == written; }, 1ms);
    BroadcastRun run;
    for (std::size_t h = 0; h < hosts_.size(); ++h) {
      run.coordd_cpu_ms.push_back(double((read_proc_stats(hosts_[h]->pid()) - before[h]).cpu_ns) /
                                  1e6);
    }
    for (std::size_t s = 0; s < nats_pids.size(); ++s) {
      run.nats_cpu_ms.push_back(double((read_proc_stats(nats_pids[s]) - before_nats[s]).cpu_ns) /
                                1e6);
    }
    reader.stop();
    run.reader_cpu_ms = double(reader.cost().cpu_ns) / 1e6;
    run.messages = messages;
    run.delivered = log.arrived();
    run.lagged = lagged.load();
    run.errors = errors.load();
    std::int64_t span = log.last_arrival_ns() - start;
    run.span_ms = double(span) / 1e6;
    run.deliveries_per_s = log.complete() && span > 0 ? double(run.delivered) / (span / 1e9) : 0;
    std::int64_t answer_span = last_answer.load() - start;
    run.sender_per_s =
        answer_span > 0 ? double(answered.load() - base) / (double(answer_span) / 1e9) : 0;
    run.latency = percentiles(log.latencies_ns());
    for (std::size_t h = 0; h < hosts_.size(); ++h) {
      std::vector<std::int64_t> ns;
      for (std::size_t a = 0; a < kAgents; ++a) {
        if (host_of_[a] != h) continue;
        for (std::size_t m = 0; m < messages; ++m) {
          if (log.arrival_ns(a, m) != 0) ns.push_back(log.arrival_ns(a, m) - log.sent_ns(m));
        }
      }
      run.latency_by.push_back(percentiles(std::move(ns)));
    }
    return run;
  }

 private:
  std::vector<const CoorddProcess*> hosts_;
  std::vector<std::size_t> host_of_;
  std::vector<std::int64_t> hello_ns_;
  std::vector<std::int64_t> after_burst_ns_;
  std::vector<CoordClient> barriers_;
  std::vector<CoordClient> agents_;
  CoordClient sender_;
};

json::object broadcast_json(const BroadcastRun& run) {
  json::array by, cpu, nats;
  for (const Percentiles& p : run.latency_by) by.push_back(percentiles_json(p));
  for (double v : run.coordd_cpu_ms) cpu.push_back(v);
  for (double v : run.nats_cpu_ms) nats.push_back(v);
  json::object out = {{"messages", run.messages},
                      {"delivered", run.delivered},
                      {"missing", run.messages * kAgents - run.delivered},
                      {"lagged_markers", run.lagged},
                      {"errors", run.errors},
                      {"deliveries_per_s", run.deliveries_per_s},
                      {"sender_answered_per_s", run.sender_per_s},
                      {"span_ms", run.span_ms},
                      {"latency", percentiles_json(run.latency)},
                      {"latency_by_coordd", std::move(by)},
                      {"coordd_cpu_ms", std::move(cpu)},
                      {"reader_cpu_ms", run.reader_cpu_ms}};
  if (!run.nats_cpu_ms.empty()) out["nats_server_cpu_ms"] = std::move(nats);
  return out;
}

json::object round_trip_json(const RoundTripRun& run) {
  return {{"round_trip", percentiles_json(run.round_trip)},
          {"orch_to_worker", percentiles_json(run.to_worker)},
          {"worker_to_orch", percentiles_json(run.back)},
          {"orch_sent", percentiles_json(run.orch_sent)},
          {"worker_sent", percentiles_json(run.worker_sent)}};
}

std::string spread_us(const std::vector<double>& values) {
  if (values.empty()) return "";
  auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  return format_us(*lo) + "-" + format_us(*hi);
}

}  // namespace

BenchResult run_swarm_bus(const BenchConfig& config) {
  BenchResult result;
  const std::string rt_name = "swarm message round trip p50 a↔b vs NATS request/reply";
  const std::string bc_name = "swarm broadcast to 100 agents over 3 hosts vs one coordd";
  if (support::find_program("nats-server").empty()) {
    const std::string why = "nats-server missing (apt-get install nats-server)";
    result.figures["error"] = why;
    result.rows.push_back(unmeasured_row(rt_name, "-", why, "≤ 2×", {}));
    result.rows.push_back(unmeasured_row(bc_name, "-", why, "≥ 0.5×", {}));
    return result;
  }
  const std::size_t rounds = config.quick ? 1 : 3;
  const std::size_t trips = config.quick ? 200 : 2000;
  const std::size_t broadcasts = config.quick ? 200 : 2000;

  progress(config, "swarm bus: 3 NATS servers, coordd a, b, c (host i on server i)");
  Swarm swarm(config, 3, "swarm-bus");
  for (int i = 0; i < swarm.size(); ++i) swarm.await_messages_ready(i);

  // --- round trip ----------------------------------------------------------
  std::vector<RoundTripRun> ours;
  std::vector<Percentiles> floor, floor_asap;
  {
    RoundTrip trip(*swarm.host(0).coordd, *swarm.host(1).coordd, rounds * trips + 50);
    NatsPeer requester(swarm.nats().url(0), "bench requester a");
    NatsPeer responder(swarm.nats().url(1), "bench responder b");
    NatsPeer requester_asap(swarm.nats().url(0), "bench requester a (send asap)", true);
    NatsPeer responder_asap(swarm.nats().url(1), "bench responder b (send asap)", true);
    for (std::size_t round = 1; round <= rounds; ++round) {
      std::string of = std::to_string(round) + "/" + std::to_string(rounds);
      progress(config, "swarm bus round trip: coordd orch@a -> w1@b -> orch, round " + of + ": " +
                           std::to_string(trips) + " one at a time");
      ours.push_back(trip.run(trips, round == 1 ? 50 : 0));
      const RoundTripRun& r = ours.back();
      progress(config, "  p50 " + format_us(r.round_trip.p50_us) + ", p99 " +
                           format_us(r.round_trip.p99_us) + "; a→w1 p50 " +
                           format_us(r.to_worker.p50_us) + ", w1→orch " + format_us(r.back.p50_us) +
                           ", a's sent " + format_us(r.orch_sent.p50_us) + ", b's sent " +
                           format_us(r.worker_sent.p50_us));
      progress(config, "swarm bus round trip: NATS request/reply a -> b, round " + of);
      std::vector<std::int64_t> ns = request_reply_ns(
          requester, responder, "benchrr.r" + std::to_string(round), trips + 50, kFloorBytes);
      ns.erase(ns.begin(), ns.begin() + 50);
      floor.push_back(percentiles(std::move(ns)));
      progress(config, "  p50 " + format_us(floor.back().p50_us) + ", p99 " +
                           format_us(floor.back().p99_us));
      progress(config, "swarm bus round trip: NATS request/reply a -> b, send asap, round " + of);
      ns = request_reply_ns(requester_asap, responder_asap, "benchrr.asap" + std::to_string(round),
                            trips + 50, kFloorBytes);
      ns.erase(ns.begin(), ns.begin() + 50);
      floor_asap.push_back(percentiles(std::move(ns)));
      progress(config, "  p50 " + format_us(floor_asap.back().p50_us) + ", p99 " +
                           format_us(floor_asap.back().p99_us));
    }
  }
  {
    json::object rt;
    rt["round_trips_per_run"] = trips;
    rt["floor_request_bytes"] = kFloorBytes;
    json::array our_runs, floor_runs, asap_runs;
    for (const RoundTripRun& run : ours) our_runs.push_back(round_trip_json(run));
    for (const Percentiles& p : floor) floor_runs.push_back(percentiles_json(p));
    for (const Percentiles& p : floor_asap) asap_runs.push_back(percentiles_json(p));
    rt["coordd"] = std::move(our_runs);
    rt["nats_request_reply_floor"] = std::move(floor_runs);
    rt["nats_request_reply_send_asap"] = std::move(asap_runs);
    auto rt_med = [&](Percentiles RoundTripRun::*leg, double Percentiles::*field) {
      return median_of(ours, [&](const RoundTripRun& run) { return run.*leg.*field; });
    };
    double p50 = rt_med(&RoundTripRun::round_trip, &Percentiles::p50_us);
    double p99 = rt_med(&RoundTripRun::round_trip, &Percentiles::p99_us);
    double floor_p50 = median_of(floor, &Percentiles::p50_us);
    double floor_p99 = median_of(floor, &Percentiles::p99_us);
    double asap_p50 = median_of(floor_asap, &Percentiles::p50_us);
    double asap_p99 = median_of(floor_asap, &Percentiles::p99_us);
    std::vector<double> p50s, floor_p50s;
    for (const RoundTripRun& run : ours) p50s.push_back(run.round_trip.p50_us);
    for (const Percentiles& p : floor) floor_p50s.push_back(p.p50_us);
    rt["median"] = {
        {"p50_us", p50},
        {"p99_us", p99},
        {"floor_p50_us", floor_p50},
        {"floor_p99_us", floor_p99},
        {"send_asap_p50_us", asap_p50},
        {"send_asap_p99_us", asap_p99},
        {"orch_to_worker_p50_us", rt_med(&RoundTripRun::to_worker, &Percentiles::p50_us)},
        {"worker_to_orch_p50_us", rt_med(&RoundTripRun::back, &Percentiles::p50_us)},
        {"orch_sent_p50_us", rt_med(&RoundTripRun::orch_sent, &Percentiles::p50_us)},
        {"worker_sent_p50_us", rt_med(&RoundTripRun::worker_sent, &Percentiles::p50_us)},
        {"ratio_p50", floor_p50 > 0 ? p50 / floor_p50 : 0.0},
        {"ratio_p99", floor_p99 > 0 ? p99 / floor_p99 : 0.0}};
    result.figures["round_trip"] = std::move(rt);

    Row row = ratio_row(rt_name, format_us(p50), format_us(floor_p50) + " (core request/reply)",
                        p50, floor_p50, "us");
    row.target = "≤ 2×";
    row.met = floor_p50 > 0 && p50 <= 2 * floor_p50;
    if (rounds > 1) row.numbers["coordd_p50_spread"] = spread_us(p50s);
    if (rounds > 1) row.numbers["peer_p50_spread"] = spread_us(floor_p50s);
    result.rows.push_back(std::move(row));
    result.rows.push_back(ratio_row("swarm message round trip p99 a↔b vs NATS request/reply",
                                    format_us(p99), format_us(floor_p99), p99, floor_p99, "us"));
    result.rows.push_back(
        ratio_row("swarm message round trip p50 vs request/reply, send asap", format_us(p50),
                  format_us(asap_p50) + " p50, " + format_us(asap_p99) + " p99 (unbuffered)", p50,
                  asap_p50, "us"));
  }

  // --- broadcast -----------------------------------------------------------
  Workspace local_ws(workspace_in(config, "swarm-bus-local"));
  CoorddProcess local(config.coordd, local_ws, {"--state-dir", "none"});
  std::vector<BroadcastRun> swarm_runs, local_runs;
  json::object hellos;
  {
    Broadcast on_swarm(
        {swarm.host(0).coordd.get(), swarm.host(1).coordd.get(), swarm.host(2).coordd.get()},
        "bc-");
    // The burst's mailbox consumers are made one at a time: the rounds start
    // once every host has made its own.
    std::int64_t opening_since = mono_now_ns();
    bool opened = support::poll_until(support::PollClock::now() + 120s, [&] {
      for (int i = 0; i < swarm.size(); ++i) {
        if (swarm.cluster_status(i).at("messages").at("mailboxes_opening") != 0) return false;
      }
      return true;
    });
    if (!opened)
      throw std::runtime_error("swarm bus broadcast: mailbox consumers not made in 120 s");
    double consumers_ms = double(mono_now_ns() - opening_since) / 1e6;
    Broadcast on_one({&local}, "bc-");
    Percentiles swarm_hello = percentiles(on_swarm.hello_ns());
    Percentiles local_hello = percentiles(on_one.hello_ns());
    json::array after_burst;
    std::string after_text;
    for (std::int64_t ns : on_swarm.after_burst_ns()) {
      after_burst.push_back(double(ns) / 1e3);
      after_text += (after_text.empty() ? "" : "/") + format_us(double(ns) / 1e3);
    }
    progress(config, "swarm bus broadcast: 100 hellos at once, swarm p50 " +
                         format_us(swarm_hello.p50_us) + " (max " + format_us(swarm_hello.max_us) +
                         "), one coordd p50 " + format_us(local_hello.p50_us) + " (max " +
                         format_us(local_hello.max_us) + "); the next hello on a/b/c " +
                         after_text + "; every mailbox consumer made " +
                         format_number(consumers_ms) + " ms after the burst");
    hellos = {{"swarm", percentiles_json(swarm_hello)},
              {"local", percentiles_json(local_hello)},
              {"swarm_next_hello_us_by_coordd", std::move(after_burst)},
              {"local_next_hello_us", double(on_one.after_burst_ns().at(0)) / 1e3},
              {"swarm_consumers_made_ms_after_burst", consumers_ms}};
    std::vector<pid_t> nats_pids = swarm.nats_pids();
    for (std::size_t round = 1; round <= rounds; ++round) {
      std::string of = std::to_string(round) + "/" + std::to_string(rounds);
      progress(config, "swarm bus broadcast: swarm (" + std::to_string(on_swarm.agents_on(0)) +
                           "/" + std::to_string(on_swarm.agents_on(1)) + "/" +
                           std::to_string(on_swarm.agents_on(2)) + " agents), round " + of + ": " +
                           std::to_string(broadcasts) + " broadcasts");
      swarm_runs.push_back(on_swarm.run(broadcasts, round, nats_pids));
      const BroadcastRun& s = swarm_runs.back();
      progress(config,
               "  " + format_rate(s.deliveries_per_s) + " deliveries (" + format_number(s.span_ms) +
                   " ms), missing " + std::to_string(s.messages * kAgents - s.delivered) +
                   ", p50 a/b/c " + format_us(s.latency_by[0].p50_us) + "/" +
                   format_us(s.latency_by[1].p50_us) + "/" + format_us(s.latency_by[2].p50_us));
      progress(config, "swarm bus broadcast: one coordd, no --cluster, round " + of);
      local_runs.push_back(on_one.run(broadcasts, round, {}));
      const BroadcastRun& l = local_runs.back();
      progress(config, "  " + format_rate(l.deliveries_per_s) + " deliveries (" +
                           format_number(l.span_ms) + " ms), missing " +
                           std::to_string(l.messages * kAgents - l.delivered) + ", p50 " +
                           format_us(l.latency.p50_us));
    }
  }
  json::object bc;
  bc["agents"] = kAgents;
  bc["agents_per_coordd"] = json::array{34, 33, 33};
  bc["broadcasts_per_run"] = broadcasts;
  bc["window"] = kWindow;
  bc["lead"] = kLead;
  bc["hello"] = std::move(hellos);
  json::array swarm_json, local_json;
  for (const BroadcastRun& run : swarm_runs) swarm_json.push_back(broadcast_json(run));
  for (const BroadcastRun& run : local_runs) local_json.push_back(broadcast_json(run));
  bc["swarm"] = std::move(swarm_json);
  bc["local"] = std::move(local_json);
  double swarm_rate = median_of(swarm_runs, &BroadcastRun::deliveries_per_s);
  double local_rate = median_of(local_runs, &BroadcastRun::deliveries_per_s);
  bc["median_swarm_deliveries_per_s"] = swarm_rate;
  bc["median_local_deliveries_per_s"] = local_rate;
  bc["ratio"] = local_rate > 0 ? swarm_rate / local_rate : 0.0;
  json::array messages;
  for (int i = 0; i < swarm.size(); ++i) messages.push_back(swarm.cluster_status(i).at("messages"));
  bc["status_cluster_messages"] = std::move(messages);
  result.figures["broadcast"] = std::move(bc);

  Row row =
      ratio_row(bc_name + " (" + std::to_string(broadcasts) + " each)", format_rate(swarm_rate),
                format_rate(local_rate) + " (one coordd)", swarm_rate, local_rate, "per_s");
  row.target = "≥ 0.5×";
  row.met = local_rate > 0 && swarm_rate >= 0.5 * local_rate;
  result.rows.push_back(std::move(row));
  return result;
}

}  // namespace coordd::bench
