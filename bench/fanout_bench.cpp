// Fan-out: one writer producing ~300 B events as fast as it can, to 100 and
// to 1,000 subscribers read by one epoll thread: deliveries per second,
// latency (write to read, every delivery) and the server's CPU time per
// delivery, whose growth from 100 to 1,000 subscribers is the per-subscriber
// cost. coordd's writer renames records into place; the peer is redis-server
// on loopback, its writer PUBLISHing the same-sized payloads to as many
// SUBSCRIBE connections. Medians over rounds that alternate the two.
#include <sys/resource.h>

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

constexpr std::size_t kEventBytes = 300;  // one event line, without its '\n'
constexpr std::string_view kIdPrefix = "fan-";
constexpr std::string_view kChannel = "coordd-bench";

struct Run {
  std::size_t subscribers = 0;
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
  run.subscribers = log.receivers();
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

Run run_coordd(const BenchConfig& config, std::size_t subscribers, std::size_t events,
               std::size_t& line_bytes) {
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
  for (std::size_t i = 0; i < subscribers; ++i) {
    clients.push_back(coordd.subscribe({{"kinds", "reservation"}}));
    fds.push_back(clients.back().fd());
    splitters.push_back(std::make_unique<LineSplitter>());
  }

  LatencyLog log(events, subscribers);
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

Run run_redis(const BenchConfig& config, std::size_t subscribers, std::size_t events,
              std::size_t payload_bytes) {
  Workspace workspace(workspace_in(config, "fanout-redis"));
  RedisServer redis(config.redis_server, workspace.scratch(""));
  std::vector<std::unique_ptr<RedisConnection>> connections;
  std::vector<int> fds;
  std::vector<std::unique_ptr<MessageSplitter>> splitters;
  for (std::size_t i = 0; i < subscribers; ++i) {
    connections.push_back(std::make_unique<RedisConnection>(redis.port()));
    connections.back()->send_all(resp_command({"SUBSCRIBE", kChannel}));
    std::vector<std::string> reply = connections.back()->read_reply(5s);
    if (reply.empty() || reply[0] != "subscribe") throw std::runtime_error("SUBSCRIBE refused");
    fds.push_back(connections.back()->fd());
    splitters.push_back(std::make_unique<RespSplitter>());
  }
  std::vector<std::string> commands;
  for (std::size_t i = 0; i < events; ++i) {
    commands.push_back(
        resp_command({"PUBLISH", kChannel, payload_of(indexed_id(kIdPrefix, i), payload_bytes)}));
  }

  LatencyLog log(events, subscribers);
  FanoutReader reader(fds, std::move(splitters),
                      [&](std::size_t sub, std::string_view payload, std::int64_t read_ns) {
                        std::optional<std::string_view> id = string_field(payload, "id");
                        long long index = id ? index_of_id(*id, kIdPrefix) : -1;
                        if (index >= 0) log.mark_arrived(sub, std::size_t(index), read_ns);
                      });
  // The publisher's replies (":<subscribers>\r\n", one line each) are drained by their
  // own thread so that the writer never waits for one.
  RedisConnection publisher(redis.port());
  std::atomic<std::size_t> short_replies{0};
  const std::string full_reply = std::string(":").append(std::to_string(subscribers)).append("\r");
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

double cpu_us_per_delivery(const Run& run) {
  return run.delivered ? run.server_cpu_s * 1e6 / double(run.delivered) : 0.0;
}

json::object runs_json(const std::vector<Run>& runs) {
  json::array list;
  for (const Run& run : runs) {
    list.push_back(
        {{"events", run.events},
         {"delivered", run.delivered},
         {"expected", run.events * run.subscribers},
         {"deliveries_per_s", run.deliveries_per_s},
         {"deliveries_per_s_per_subscriber",
          run.subscribers ? run.deliveries_per_s / double(run.subscribers) : 0.0},
         {"writer_events_per_s", run.writer_per_s},
         {"p50_us", run.latency.p50_us},
         {"p99_us", run.latency.p99_us},
         {"max_us", run.latency.max_us},
         {"server_cpu_s", run.server_cpu_s},
         {"server_cpu_us_per_delivery", cpu_us_per_delivery(run)},
         {"lagged_or_short", run.lagged_markers},
         {"reader_cpu_s", double(run.reader.cpu_ns) / 1e9},
         {"reader_reads", run.reader.reads},
         {"reader_bytes_per_read",
          run.reader.reads ? double(run.reader.bytes) / double(run.reader.reads) : 0.0}});
  }
  return {{"runs", std::move(list)},
          {"median_deliveries_per_s", median_of(runs, &Run::deliveries_per_s)},
          {"median_server_cpu_us_per_delivery", median_of(runs, cpu_us_per_delivery)},
          {"median_p50_us", median_of(runs, [](const Run& r) { return r.latency.p50_us; })},
          {"median_p99_us", median_of(runs, [](const Run& r) { return r.latency.p99_us; })},
          {"median_max_us", median_of(runs, [](const Run& r) { return r.latency.max_us; })}};
}

// One subscriber count: its runs of both servers, alternating, and its medians.
struct Size {
  Size(std::size_t subscribers_, std::size_t events_)
      : subscribers(subscribers_), events(events_) {}

  std::size_t subscribers = 0;
  std::size_t events = 0;
  std::size_t line_bytes = kEventBytes;
  std::vector<Run> ours, theirs;

  double rate() const { return median_of(ours, &Run::deliveries_per_s); }
  double peer_rate() const { return median_of(theirs, &Run::deliveries_per_s); }
  double p99() const {
    return median_of(ours, [](const Run& r) { return r.latency.p99_us; });
  }
  double peer_p99() const {
    return median_of(theirs, [](const Run& r) { return r.latency.p99_us; });
  }
  double cpu() const { return median_of(ours, cpu_us_per_delivery); }
  double peer_cpu() const { return median_of(theirs, cpu_us_per_delivery); }
};

std::string progress_of(const Run& run) {
  return "  " + format_rate(run.deliveries_per_s) + " deliveries, p99 " +
         format_us(run.latency.p99_us) + ", delivered " + std::to_string(run.delivered) + " of " +
         std::to_string(run.events * run.subscribers);
}

// The harness holds a socket per subscriber (coordd_bench raised its soft
// limit to the hard one; coordd and redis-server inherit it).
void check_open_file_limit(std::size_t subscribers) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < subscribers + 256) {
    throw std::runtime_error("the open-file limit (" + std::to_string(limit.rlim_cur) +
                             ") is too low for " + std::to_string(subscribers) +
                             " subscribers: raise ulimit -Hn to at least " +
                             std::to_string(subscribers + 256));
  }
}

void measure(const BenchConfig& config, std::size_t rounds, Size& size) {
  check_open_file_limit(size.subscribers);
  std::string subs = std::to_string(size.subscribers) + " subscribers";
  for (std::size_t round = 1; round <= rounds; ++round) {
    std::string of = std::to_string(round) + "/" + std::to_string(rounds);
    progress(config, "fan-out: coordd, round " + of + ": " + std::to_string(size.events) +
                         " events to " + subs);
    size.ours.push_back(run_coordd(config, size.subscribers, size.events, size.line_bytes));
    progress(config, progress_of(size.ours.back()));
    if (config.redis_server.empty()) continue;
    progress(config, "fan-out: redis-server, round " + of + ", " + subs);
    size.theirs.push_back(run_redis(config, size.subscribers, size.events, size.line_bytes));
    progress(config, progress_of(size.theirs.back()));
  }
}

void add_rows(const Size& size, std::vector<Row>& rows) {
  std::string subs = " (" + std::to_string(size.subscribers) + " subs)";
  if (size.theirs.empty()) {
    rows.push_back(unmeasured_row("fan-out deliveries/s" + subs, format_rate(size.rate()),
                                  "redis-server missing (apt-get install redis-server)", "≥ 1×",
                                  {}));
    rows.push_back(unmeasured_row("fan-out p99 latency" + subs, format_us(size.p99()),
                                  "redis-server missing", "≤ 1×", {}));
    rows.push_back(unmeasured_row("fan-out server CPU per delivery" + subs, format_us(size.cpu()),
                                  "redis-server missing", "", {}));
    return;
  }
  Row deliveries =
      ratio_row("fan-out deliveries/s" + subs, format_rate(size.rate()),
                format_rate(size.peer_rate()) + " (redis)", size.rate(), size.peer_rate(), "per_s");
  deliveries.target = "≥ 1×";
  deliveries.met = size.peer_rate() > 0 && size.rate() >= size.peer_rate();
  rows.push_back(std::move(deliveries));
  Row p99 = ratio_row("fan-out p99 latency" + subs, format_us(size.p99()),
                      format_us(size.peer_p99()) + " (redis)", size.p99(), size.peer_p99(), "us");
  p99.target = "≤ 1×";
  p99.met = size.peer_p99() > 0 && size.p99() <= size.peer_p99();
  rows.push_back(std::move(p99));
  rows.push_back(ratio_row("fan-out server CPU per delivery" + subs, format_us(size.cpu()),
                           format_us(size.peer_cpu()) + " (redis)", size.cpu(), size.peer_cpu(),
                           "cpu_us"));
}

// How the cost of one delivery grew from the smallest to the largest
// subscriber count, coordd's against Redis's (1× is no per-subscriber cost).
Row growth_row(const Size& small, const Size& large) {
  std::string name = "fan-out CPU per delivery, " + std::to_string(large.subscribers) + " vs " +
                     std::to_string(small.subscribers) + " subs";
  double ours = small.cpu() > 0 ? large.cpu() / small.cpu() : 0;
  std::string figure = format_ratio(large.cpu(), small.cpu()) + " (" + format_us(small.cpu()) +
                       " → " + format_us(large.cpu()) + ")";
  if (small.theirs.empty() || large.theirs.empty()) {
    return unmeasured_row(std::move(name), figure, "redis-server missing", "", {});
  }
  double theirs = small.peer_cpu() > 0 ? large.peer_cpu() / small.peer_cpu() : 0;
  Row row = ratio_row(std::move(name), figure,
                      format_ratio(large.peer_cpu(), small.peer_cpu()) + " (redis)", ours, theirs,
                      "growth");
  return row;
}

}  // namespace

BenchResult run_fanout(const BenchConfig& config) {
  const std::size_t rounds = config.quick ? 1 : 5;
  // Events per run stay below coordd's default per-client queue bound (8192
  // lines, 16 MiB), so a burst fits even if the reader falls behind: drops
  // would be reported, not hidden. At 1,000 subscribers a quarter as many
  // events still make 2M deliveries a run (and keep Redis's output buffers,
  // one copy per subscriber, under 1 GiB if the reader lags).
  std::vector<Size> sizes;
  if (config.quick) {
    sizes = {Size(100, 500), Size(200, 250)};
  } else {
    sizes = {Size(100, 8000), Size(1000, 2000)};
  }
  for (Size& size : sizes) measure(config, rounds, size);

  BenchResult result;
  json::array list;
  for (const Size& size : sizes) {
    json::object entry = {{"subscribers", size.subscribers},
                          {"events_per_run", size.events},
                          {"event_line_bytes", size.line_bytes},
                          {"coordd", runs_json(size.ours)}};
    if (!size.theirs.empty()) entry["redis"] = runs_json(size.theirs);
    list.push_back(std::move(entry));
  }
  result.figures["rounds"] = rounds;
  result.figures["sizes"] = std::move(list);
  for (const Size& size : sizes) add_rows(size, result.rows);
  result.rows.push_back(growth_row(sizes.front(), sizes.back()));
  return result;
}

}  // namespace coordd::bench
