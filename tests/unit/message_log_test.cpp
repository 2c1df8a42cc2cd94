// MessageLog on a FakeLogDirectory: what a new log on the same files
// recovers, how the files stay bounded, and what a failed write leaves.
#include "daemon/bus/message_log.hpp"

#include <doctest/doctest.h>

#include "tests/unit/fake_log_directory.hpp"

namespace coordd::testing {
namespace {

std::unique_ptr<MessageLog> open_log(const std::shared_ptr<FakeFiles>& files,
                                     MessageLogOptions options = {}) {
  return std::make_unique<MessageLog>(std::make_unique<FakeLogDirectory>(files), options);
}

StoredMessage message_to(std::string to, std::string content) {
  StoredMessage m;
  m.to = std::move(to);
  m.from = "orch";
  m.sent_at = WallTime(std::chrono::seconds(1'700'000'000));
  m.message = {{"kind", "additional_context"}, {"content", std::move(content)}};
  return m;
}

std::vector<std::string> contents(const std::vector<StoredMessage>& messages) {
  std::vector<std::string> out;
  for (const StoredMessage& m : messages) out.emplace_back(m.message.at("content").as_string());
  return out;
}

using Strings = std::vector<std::string>;

TEST_CASE("a new log on the same files recovers what was recorded and not settled, in order") {
  auto files = std::make_shared<FakeFiles>();
  {
    auto log = open_log(files);
    std::uint64_t first = *log->record(message_to("w1", "a"));
    (void)*log->record(message_to("w2", "b"));
    (void)*log->record(message_to("w1", "c"));
    log->settle(first);
  }

  std::vector<StoredMessage> recovered = open_log(files)->take_recovered();

  CHECK(contents(recovered) == Strings{"b", "c"});
  CHECK(recovered[0].to == "w2");
  CHECK(recovered[0].from == "orch");
  CHECK(recovered[0].sent_at == WallTime(std::chrono::seconds(1'700'000'000)));
}

TEST_CASE("with fsync every record is synced before it returns; settling is not synced") {
  auto files = std::make_shared<FakeFiles>();
  auto log = open_log(files);
  std::uint64_t id = *log->record(message_to("w1", "a"));
  CHECK(files->syncs == 1);
  log->settle(id);
  CHECK(files->syncs == 1);
  CHECK(files->appends == 2);

  MessageLogOptions no_sync;
  no_sync.fsync = false;
  auto unsynced = open_log(std::make_shared<FakeFiles>(), no_sync);
  (void)*unsynced->record(message_to("w1", "a"));
  CHECK(files->syncs == 1);
}

TEST_CASE("the files stay bounded while messages come and go, even with one that never leaves") {
  auto files = std::make_shared<FakeFiles>();
  MessageLogOptions options;
  options.segment_bytes = 1024;
  auto log = open_log(files, options);
  (void)*log->record(message_to("away", "kept"));
  for (int i = 0; i < 2000; ++i) log->settle(*log->record(message_to("w1", std::to_string(i))));

  CHECK(log->disk_bytes() <= 2 * 1024 + 3 * 1024);
  CHECK(log->segments() <= 5);
  CHECK(contents(open_log(files)->take_recovered()) == Strings{"kept"});  // once
}

TEST_CASE("a write that fails part way gets log_failed, and later entries stay readable") {
  auto files = std::make_shared<FakeFiles>();
  auto log = open_log(files);
  files->fail_next_after = 20;
  Result<std::uint64_t> failed = log->record(message_to("w1", "lost"));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == "log_failed");
  (void)*log->record(message_to("w1", "after"));

  auto reopened = open_log(files);
  CHECK(contents(reopened->take_recovered()) == Strings{"after"});
  CHECK(reopened->bad_entries() == 1);  // the torn line, skipped
}

TEST_CASE("a record that would take the files past max_bytes gets log_full") {
  MessageLogOptions options;
  options.max_bytes = 400;
  auto log = open_log(std::make_shared<FakeFiles>(), options);
  Result<std::uint64_t> last = log->record(message_to("w1", "x"));
  while (last.ok()) last = log->record(message_to("w1", "x"));
  CHECK(last.status().code() == "log_full");
  CHECK(log->disk_bytes() <= 400);
}

}  // namespace
}  // namespace coordd::testing
