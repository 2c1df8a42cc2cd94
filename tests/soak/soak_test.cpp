// The soak (issue 7): for COORDD_SOAK_SECONDS (60 in CI; the long mode is
// 600) paced random writers, roaming subscribers and messaging agents run
// against one coordd. Then every subscriber syncs and its reconstructed state
// must equal the disk, with every seq gap covered by a lag marker it resumed
// from; coordd's RSS must be flat after warm-up, and once the clients have
// gone it must count none of them and hold the descriptors it held before.
#include <doctest/doctest.h>

#include "tests/soak/process_probe.hpp"
#include "tests/soak/soak_fixture.hpp"
#include "tests/soak/soak_load.hpp"

namespace coordd::soak {
namespace {

constexpr auto kRssSampleInterval = 250ms;
constexpr std::size_t kFdSlack = 2;

// A short queue and grace, so stalls lag and long ones are cut off as slow
// consumers; a journal that fills during warm-up, so memory can then be
// flat, yet holds several seconds of traffic, so most resumes succeed.
const std::vector<std::string> kSoakFlags = {
    "--journal-size", "8192", "--queue-max-events", "256", "--slow-consumer-grace", "4"};

// The last third's peak is within 1.5x the middle third's, plus 8 MiB.
bool flat_after_warm_up(const RssSamples& rss) {
  return rss.max_of_third(2) <= rss.max_of_third(1) * 3 / 2 + 8 * kMiB;
}

TEST_CASE(
    "after a soak of writers, stalling and resuming subscribers and messaging agents, "
    "every subscriber equals the disk and coordd's memory and descriptors stay flat") {
  Workspace ws;
  DaemonProcess daemon(ws, kSoakFlags);
  EventReader probe = daemon.connect();
  REQUIRE(settled_client_count(probe, 1) == 1);
  const pid_t pid = daemon_pid(probe);
  const std::size_t fds_before = open_fds(pid).value_or(0);
  SoakLoad load(ws, soak_seed());

  REQUIRE_MESSAGE(load.start(), load.error());
  RssSamples rss = sample_rss_until(pid, SteadyClock::now() + soak_duration(), kRssSampleInterval);
  load.stop();

  RecordsByKind disk = disk_records(ws);
  json::object status = status_of(probe);
  MESSAGE("soak of " << soak_duration().count() << " s, seed " << soak_seed() << ": coordd emitted "
                     << status.at("events_emitted") << " events to "
                     << status.at("clients_accepted") << " clients; " << load.figures());
  MESSAGE(rss.describe());
  CHECK(load.errors() == std::vector<std::string>{});
  CHECK(load.differences_from(disk) == std::vector<std::string>{});
  SoakLoad::Totals exercised = load.totals();
  CHECK(exercised.expired_by_ttl > 0);
  CHECK(exercised.expired_by_release > 0);
  CHECK(exercised.lag_markers > 0);
  CHECK(exercised.resumes > 0);
  CHECK(exercised.messages > 0);
  CHECK(exercised.redelivered > 0);  // acking agents reconnected with messages unacked
  CHECK(exercised.directory_replacements > 0);
  CHECK(exercised.permission_flips > 0);
  CHECK_FALSE(rss.process_gone);
  CHECK_MESSAGE(flat_after_warm_up(rss), "coordd's RSS grew after warm-up: " << rss.describe());

  load.disconnect();
  CHECK(settled_client_count(probe, 1) == 1);
  std::size_t fds_after = settled_fd_count(pid, fds_before);
  MESSAGE("coordd's descriptors: " << fds_before << " before the clients came, " << fds_after
                                   << " after they left (" << fd_summary(pid) << ")");
  CHECK(fds_after <= fds_before + kFdSlack);
  CHECK(fds_after + kFdSlack >= fds_before);
}

}  // namespace
}  // namespace coordd::soak
