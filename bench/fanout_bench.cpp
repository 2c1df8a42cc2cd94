// Fan-out: one writer producing ~300 B events as fast as it can, 100
// subscribers read by one epoll thread: deliveries per second and latency
// (write to read, every delivery). coordd's writer renames records into
// place; the peer is redis-server on loopback, its writer PUBLISHing the
// same-sized payloads to 100 SUBSCRIBE connections. Medians over rounds that
// alternate the two.
#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

#include "bench/benchmarks.hpp"
#include "bench/coordd_process.hpp"
#include "bench/fanout_reader.hpp"
#include "bench/latency.hpp"
#include "bench/line_fields.hpp"
#include "bench/line_reader.hpp"
#include "bench/proc_stats.hpp"
#include "bench/records.hpp"
#include "bench/redis_client.hpp"
#include "bench/redis_server.hpp"
#include "bench/stats.hpp"

namespace coordd::bench {
namespace {

// A run ends when every arrival is in or none came for this long.
constexpr std::int64_t kStallNs = 10'000'000'000;

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::size_t kSubscribers = 100;
constexpr std::size_t kEventBytes = 300;  // one event line, without its '\n'
constexpr std::string_view kIdPrefix = "fan-";
constexpr std::string_view kChannel = "coordd-bench";

struct Run {
  std::size_t events = 0;
  std::size_t delivered = 0;
  std::size_t lagged_markers = 0;
  double deliveries_per_s = 0;
  double writer_per_s = 0;  // how fast the writer produced
  Percentiles latency;
  double server_cpu_s = 0;
  FanoutReader::Cost reader;  // the harness's side of the sockets
};

Run summarize(const LatencyLog& log, std::int64_t writer_ns, double server_cpu_s) {
  Run run;
  run.events = log.messages();
  run.delivered = log.arrived();
  std::int64_t span = log.last_arrival_ns() - log.first_sent_ns();
  run.deliveries_per_s = span > 0 ? double(run.delivered) / (double(span) / 1e9) : 0;
  run.writer_per_s = writer_ns > 0 ? double(run.events) / (double(writer_ns) / 1e9) : 0;
  run.latency = percentiles(log.latencies_ns());
  run.server_cpu_s = server_cpu_s;
  return run;
}

// The record size whose event line (as subscribers read it) is kEventBytes:
// one event is measured and the record padded by the difference.
std::size_t calibrate_record_bytes(const CoorddProcess& coordd, RecordDir& dir) {
  CoordClient client = coordd.subscribe({{"kinds", "reservation"}});
  std::string id = indexed_id("cal-", 0);  // as long as the measured ids
  constexpr std::size_t kTrial = 120;
  dir.write_atomic(id, reservation_json(id, kTrial));
  std::string line;
  auto deadline = deadline_in(10s);
  while (line.find(id) == std::string::npos) {
    if (client.read_line(line, deadline) != CoordClient::Status::kOk) {
      throw std::runtime_error("no event for the calibration record");
    }
  }
  long long wanted = (long long)kTrial + (long long)kEventBytes - (long long)line.size();
  return std::size_t(std::max(wanted, 60LL));
}

Run run_coordd(const BenchConfig& config, std::size_t events, std::size_t& line_bytes) {
  Workspace workspace(workspace_in(config, "fanout"));
  CoorddProcess coordd(config.coordd, workspace);
  RecordDir dir(workspace.kind_dir("reservations"));
  std::size_t record_bytes = calibrate_record_bytes(coordd, dir);

  // The dot-temp files are written (and their events consumed) before the
  // clock starts: the measured writer only renames.
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < events; ++i) {
    ids.push_back(indexed_id(kIdPrefix, i));
    dir.stage(ids.back(), reservation_json(ids.back(), record_bytes));
  }
  {
    CoordClient client = coordd.connect();
    call_or_throw(client, {{"op", "sync"}});
  }
  std::vector<CoordClient> clients;
  std::vector<int> fds;
  std::vector<std::unique_ptr<MessageSplitter>> splitters;
  for (std::size_t i = 0; i < kSubscribers; ++i) {
    clients.push_back(coordd.subscribe({{"kinds", "reservation"}}));
    fds.push_back(clients.back().fd());
    splitters.push_back(std::make_unique<LineSplitter>());
  }

  LatencyLog log(events, kSubscribers);
  std::atomic<std::size_t> lagged{0};
  std::atomic<std::size_t> first_line_bytes{0};
  FanoutReader reader(fds, std::move(splitters),
                      [&](std::size_t sub, std::string_view line, std::int64_t read_ns) {
                        std::optional<std::string_view> id = string_field(line, "id");
                        if (!id) {
                          if (line.find("\"type\":\"lagged\"") != std::string_view::npos) lagged++;
                          return;
                        }
                        long long index = index_of_id(*id, kIdPrefix);
                        if (index < 0) return;
                        if (index == 0 && sub == 0) first_line_bytes = line.size();
                        log.mark_arrived(sub, std::size_t(index), read_ns);
                      });
  ProcStats before = read_proc_stats(coordd.pid());
  std::int64_t start = mono_now_ns();
  for (std::size_t i = 0; i < events; ++i) log.mark_sent(i, dir.publish(ids[i]));
  std::int64_t writer_ns = mono_now_ns() - start;
  wait_for_arrivals(log, kStallNs);
  ProcStats used = read_proc_stats(coordd.pid()) - before;
  reader.stop();
  line_bytes = first_line_bytes.load();
  Run run = summarize(log, writer_ns, double(used.cpu_ns) / 1e9);
  run.reader = reader.cost();
  run.lagged_markers = lagged.load();
  return run;
}

// A payload of exactly `bytes` bytes that names its message like an event.
std::string payload_of(std::string_view id, std::size_t bytes) {
  std::string head = "{\"type\":\"event\",\"event_type\":\"added\",\"id\":\"" + std::string(id) +
                     "\",\"data\":{\"note\":\"";
  std::size_t pad = bytes > head.size() + 3 ? bytes - head.size() - 3 : 0;
  return head + std::string(pad, 'x') + "\"}}";
}

Run run_redis(const BenchConfig& config, std::size_t events, std::size_t payload_bytes) {
  Workspace workspace(workspace_in(config, "fanout-redis"));
  RedisServer redis(config.redis_server, workspace.scratch(""));
  std::vector<std::unique_ptr<RedisConnection>> subscribers;
  std::vector<int> fds;
  std::vector<std::unique_ptr<MessageSplitter>> splitters;
  for (std::size_t i = 0; i < kSubscribers; ++i) {
    subscribers.push_back(std::make_unique<RedisConnection>(redis.port()));
    subscribers.back()->send_all(resp_command({"SUBSCRIBE", kChannel}));
    std::vector<std::string> reply = subscribers.back()->read_reply(5s);
    if (reply.empty() || reply[0] != "subscribe") throw std::runtime_error("SUBSCRIBE refused");
    fds.push_back(subscribers.back()->fd());
    splitters.push_back(std::make_unique<RespSplitter>());
  }
  std::vector<std::string> commands;
  for (std::size_t i = 0; i < events; ++i) {
    commands.push_back(
        resp_command({"PUBLISH", kChannel, payload_of(indexed_id(kIdPrefix, i), payload_bytes)}));
  }

  LatencyLog log(events, kSubscribers);
  FanoutReader reader(fds, std::move(splitters),
                      [&](std::size_t sub, std::string_view payload, std::int64_t read_ns) {
                        std::optional<std::string_view> id = string_field(payload, "id");
                        long long index = id ? index_of_id(*id, kIdPrefix) : -1;
                        if (index >= 0) log.mark_arrived(sub, std::size_t(index), read_ns);
                      });
  // The publisher's replies (":100\r\n", one line each) are drained by their
  // own thread so that the writer never waits for one.
  RedisConnection publisher(redis.port());
  std::atomic<std::size_t> short_replies{0};
  const std::string full_reply = std::string(":").append(std::to_string(kSubscribers)).append("\r");
  LineReader replies(publisher.fd(), [&](std::string_view line, std::int64_t) {
    if (line != full_reply) short_replies++;
  });
  ProcStats before = read_proc_stats(redis.pid());
  std::int64_t start = mono_now_ns();
  for (std::size_t i = 0; i < events; ++i) {
    std::int64_t t = mono_now_ns();
    publisher.send_all(commands[i]);
    log.mark_sent(i, t);
  }
  std::int64_t writer_ns = mono_now_ns() - start;
  wait_for_arrivals(log, kStallNs);
  ProcStats used = read_proc_stats(redis.pid()) - before;
  reader.stop();
  replies.stop();
  Run run = summarize(log, writer_ns, double(used.cpu_ns) / 1e9);
  run.reader = reader.cost();
  run.lagged_markers = short_replies.load();  // PUBLISHes that reached fewer subscribers
  return run;
}

json::object runs_json(const std::vector<Run>& runs) {
  json::array list;
  for (const Run& run : runs) {
    list.push_back(
        {{"events", run.events},
         {"delivered", run.delivered},
         {"expected", run.events * kSubscribers},
         {"deliveries_per_s", run.deliveries_per_s},
         {"writer_events_per_s", run.writer_per_s},
         {"p50_us", run.latency.p50_us},
         {"p99_us", run.latency.p99_us},
         {"max_us", run.latency.max_us},
         {"server_cpu_s", run.server_cpu_s},
         {"server_cpu_us_per_delivery",
          run.delivered ? run.server_cpu_s * 1e6 / double(run.delivered) : 0.0},
         {"lagged_or_short", run.lagged_markers},
         {"reader_cpu_s", double(run.reader.cpu_ns) / 1e9},
         {"reader_reads", run.reader.reads},
         {"reader_bytes_per_read",
          run.reader.reads ? double(run.reader.bytes) / double(run.reader.reads) : 0.0}});
  }
  return {{"runs", std::move(list)},
          {"median_deliveries_per_s", median_of(runs, &Run::deliveries_per_s)},
          {"median_p50_us", median_of(runs, [](const Run& r) { return r.latency.p50_us; })},
          {"median_p99_us", median_of(runs, [](const Run& r) { return r.latency.p99_us; })},
          {"median_max_us", median_of(runs, [](const Run& r) { return r.latency.max_us; })}};
}

}  // namespace

BenchResult run_fanout(const BenchConfig& config) {
  const std::size_t rounds = config.quick ? 1 : 3;
  // Below coordd's default per-client queue bound (8192 lines), so a burst
  // fits even if the reader falls behind: drops would be reported, not hidden.
  const std::size_t events = config.quick ? 500 : 8000;
  std::vector<Run> ours, theirs;
  std::size_t line_bytes = kEventBytes;
  for (std::size_t round = 1; round <= rounds; ++round) {
    std::string of = std::to_string(round) + "/" + std::to_string(rounds);
    progress(config, "fan-out: coordd, round " + of + ": " + std::to_string(events) +
                         " events to " + std::to_string(kSubscribers) + " subscribers");
    ours.push_back(run_coordd(config, events, line_bytes));
    progress(config, "  " + format_rate(ours.back().deliveries_per_s) + " deliveries, p99 " +
                         format_us(ours.back().latency.p99_us) + ", delivered " +
                         std::to_string(ours.back().delivered));
    if (config.redis_server.empty()) continue;
    progress(config, "fan-out: redis-server, round " + of);
    theirs.push_back(run_redis(config, events, line_bytes));
    progress(config, "  " + format_rate(theirs.back().deliveries_per_s) + " deliveries, p99 " +
                         format_us(theirs.back().latency.p99_us) + ", delivered " +
                         std::to_string(theirs.back().delivered));
  }
  BenchResult result;
  result.figures["subscribers"] = kSubscribers;
  result.figures["events_per_run"] = events;
  result.figures["event_line_bytes"] = line_bytes;
  result.figures["coordd"] = runs_json(ours);
  double rate = median_of(ours, &Run::deliveries_per_s);
  double p99 = median_of(ours, [](const Run& r) { return r.latency.p99_us; });
  if (theirs.empty()) {
    result.rows.push_back(unmeasured_row("fan-out deliveries/s (100 subs)", format_rate(rate),
                                         "redis-server missing (apt-get install redis-server)",
                                         "≥ 1× Redis", {}));
    result.rows.push_back(
        unmeasured_row("fan-out p99 latency", format_us(p99), "redis-server missing", "", {}));
    return result;
  }
  result.figures["redis"] = runs_json(theirs);
  double peer_rate = median_of(theirs, &Run::deliveries_per_s);
  double peer_p99 = median_of(theirs, [](const Run& r) { return r.latency.p99_us; });
  Row deliveries = ratio_row("fan-out deliveries/s (100 subs)", format_rate(rate),
                             format_rate(peer_rate) + " (redis)", rate, peer_rate, "per_s");
  deliveries.target = "≥ 1×";
  deliveries.met = peer_rate > 0 && rate >= peer_rate;
  result.rows.push_back(std::move(deliveries));
  result.rows.push_back(ratio_row("fan-out p99 latency", format_us(p99),
                                  format_us(peer_p99) + " (redis)", p99, peer_p99, "us"));
  return result;
}

}  // namespace coordd::bench
