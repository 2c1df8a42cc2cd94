#include "tests/soak/soak_writer.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/lossless/churn_writer.hpp"
#include "tests/soak/soak_fixture.hpp"

namespace coordd::soak {
namespace {

namespace fs = std::filesystem;

// Kind directories with their share of the writes: leases and what points at
// them dominate, so the expiry timer is busy.
struct KindShare {
  std::string_view dir;
  std::string_view id_field;
  unsigned weight;
};
constexpr KindShare kKinds[] = {
    {"reservations", "reservation_id", 30}, {"heartbeats", "heartbeat_id", 15},
    {"releases", "release_id", 8},          {"claims", "claim_id", 12},
    {"intents", "intent_id", 10},           {"tasks", "task_id", 15},
    {"dependencies", "dependency_id", 10},
};

}  // namespace

SoakWriteCounts& SoakWriteCounts::operator+=(const SoakWriteCounts& more) {
  added += more.added;
  modified_in_place += more.modified_in_place;
  modified_by_rename += more.modified_by_rename;
  removed += more.removed;
  leases_written += more.leases_written;
  heartbeats_written += more.heartbeats_written;
  releases_written += more.releases_written;
  return *this;
}

SoakWriter::SoakWriter(fs::path coordination, SoakWriterOptions options)
    : coordination_(std::move(coordination)),
      options_(std::move(options)),
      random_(options_.seed),
      exists_(std::size(kKinds), std::vector<bool>(options_.ids_per_kind, false)) {}

std::string SoakWriter::run_id_of(std::size_t index) { return index % 2 == 0 ? "run-a" : "run-b"; }

std::string SoakWriter::id_of(std::string_view kind_dir, std::size_t index) const {
  return options_.id_prefix + "-" + std::string(kind_dir.substr(0, 3)) + "-" +
         std::to_string(index);
}

std::string SoakWriter::in_seconds(double low, double high) {
  std::uniform_real_distribution<double> seconds(low, high);
  auto when = std::chrono::system_clock::now() +
              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  std::chrono::duration<double>(seconds(random_)));
  return integration::iso_utc(when);
}

std::string SoakWriter::record_json(std::string_view kind_dir, std::size_t index) {
  const KindShare& kind = *std::find_if(std::begin(kKinds), std::end(kKinds),
                                        [&](const KindShare& k) { return k.dir == kind_dir; });
  std::string id = id_of(kind_dir, index);
  json::object record{{kind.id_field, id},
                      {"run_id", run_id_of(index)},
                      {"branch", "main"},
                      {"revision", ++revision_}};
  // Heartbeats and releases point at a reservation of this writer's pool,
  // which may or may not exist at the moment.
  std::uniform_int_distribution<std::size_t> any_index(0, options_.ids_per_kind - 1);
  if (kind_dir == "reservations") {
    record["addresses"] = json::array{"src/module_" + std::to_string(index % 7) + ".py::f"};
    record["expires_at"] = in_seconds(0.3, 6.0);
    ++counts_.leases_written;
  } else if (kind_dir == "claims") {
    if (random_() % 2 == 0) {
      record["expires_at"] = in_seconds(0.5, 6.0);
      ++counts_.leases_written;
    }
  } else if (kind_dir == "heartbeats") {
    record["reservation_id"] = id_of("reservations", any_index(random_));
    record["extended_expires_at"] = in_seconds(1.0, 8.0);
    ++counts_.heartbeats_written;
  } else if (kind_dir == "releases") {
    record["reservation_id"] = id_of("reservations", any_index(random_));
    ++counts_.releases_written;
  } else {
    record["title"] = "soak " + id;
  }
  return json::serialize(record);
}

bool SoakWriter::step() {
  auto weight = [this](const KindShare& kind) {
    return kind.dir == options_.leave_alone ? 0u : kind.weight;
  };
  unsigned total_weight = 0;
  for (const KindShare& kind : kKinds) total_weight += weight(kind);
  unsigned pick = unsigned(random_() % total_weight);
  std::size_t k = 0;
  while (pick >= weight(kKinds[k])) pick -= weight(kKinds[k++]);
  std::size_t index = random_() % options_.ids_per_kind;
  std::string_view dir = kKinds[k].dir;
  fs::path path = coordination_ / dir / (id_of(dir, index) + ".json");

  std::string error;
  if (!exists_[k][index]) {
    error = lossless::try_write_atomic(path, record_json(dir, index));
    ++counts_.added;
    exists_[k][index] = true;
  } else if (unsigned roll = unsigned(random_() % 100); roll < 40) {
    error = lossless::try_write_in_place(path, record_json(dir, index));
    ++counts_.modified_in_place;
  } else if (roll < 75) {
    error = lossless::try_write_atomic(path, record_json(dir, index));
    ++counts_.modified_by_rename;
  } else {
    error = lossless::try_remove(path);
    ++counts_.removed;
    exists_[k][index] = false;
  }
  if (!error.empty()) error_ = std::move(error);
  return error_.empty();
}

bool SoakWriter::run(std::stop_token stop) {
  // A steady rate, not as fast as possible: the soak is about hours of
  // ordinary traffic, not a burst (the lossless suite does bursts).
  auto period = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(1.0 / options_.operations_per_second));
  auto next = SteadyClock::now();
  while (pause_until(stop, next)) {
    if (!step()) return false;
    next += period;
    if (auto now = SteadyClock::now(); next < now - 1s) next = now;  // do not catch up in a burst
  }
  return true;
}

}  // namespace coordd::soak
