#include "coordd_fixture.hpp"

#include <doctest/doctest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "proto/timestamp.hpp"

namespace coordctl_test {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// The four kinds these tests write; the others are left out, as in a repo
// where no agent has written them yet.
coordd::support::WorkspaceOptions repo_layout() {
  coordd::support::WorkspaceOptions options;
  options.label = "coordctl-test";
  options.kinds = {"reservations", "intents", "releases", "heartbeats"};
  return options;
}

}  // namespace

coordd::support::ChildOptions captured(std::vector<std::string> env) {
  coordd::support::ChildOptions options;
  options.env = std::move(env);
  options.stdout_to = coordd::support::Output::kCollect;
  options.stderr_to = coordd::support::Output::kCollect;
  options.stop_grace = 0ms;
  return options;
}

RunResult run_to_end(std::vector<std::string> argv, std::vector<std::string> env,
                     std::chrono::milliseconds within) {
  ChildProcess child(std::move(argv), captured(std::move(env)));
  std::optional<ExitStatus> status = child.wait(within);
  REQUIRE_MESSAGE(status.has_value(),
                  "the program did not finish in time; stderr: " << child.stderr_text());
  return RunResult{*status, child.lines(), child.stdout_text(), child.stderr_text()};
}

// Short, under $TMPDIR or /tmp: a Unix socket path must fit in 108 bytes.
TempRepo::TempRepo()
    : workspace_(repo_layout()),
      dir_(workspace_.dir().string()),  // canonical, as coordd names its roots
      root_(workspace_.repo().string()),
      socket_(workspace_.socket().string()) {}

std::string TempRepo::path_of(const std::string& kind_dir, const std::string& id) const {
  return root_ + "/.muse/coordination/" + kind_dir + "/" + id + ".json";
}

void TempRepo::write(const std::string& kind_dir, const std::string& id,
                     const json::object& data) const {
  write_text(kind_dir, id, json::serialize(data));
}

void TempRepo::write_text(const std::string& kind_dir, const std::string& id,
                          const std::string& text) const {
  fs::create_directories(root_ + "/.muse/coordination/" + kind_dir);
  std::string target = path_of(kind_dir, id);
  std::string temp = root_ + "/.muse/coordination/" + kind_dir + "/." + id + ".tmp";
  std::ofstream(temp) << text;
  fs::rename(temp, target);
}

void TempRepo::write_in_place(const std::string& kind_dir, const std::string& id,
                              const json::object& data) const {
  std::ofstream(path_of(kind_dir, id), std::ios::trunc) << json::serialize(data);
}

void TempRepo::remove(const std::string& kind_dir, const std::string& id) const {
  fs::remove(path_of(kind_dir, id));
}

RunningCoordd::RunningCoordd(const TempRepo& repo, std::vector<std::string> flags)
    : repo_(repo), flags_(std::move(flags)) {
  start();
}

void RunningCoordd::start() {
  std::vector<std::string> argv{coordd_binary(), "--root",       repo_.root(),
                                "--socket",      repo_.socket(), "--log-level",
                                "info",          "--state-dir",  "none"};
  argv.insert(argv.end(), flags_.begin(), flags_.end());
  process_ = std::make_unique<ChildProcess>(std::move(argv), captured());
  // coordd logs "serving" once its socket accepts connections.
  bool ready = process_->read_stderr_until(" serving ", 10s);
  REQUIRE_MESSAGE(ready, "coordd did not start; its stderr: " << process_->stderr_text());
}

void RunningCoordd::stop_with(int signal) {
  process_->send_signal(signal);
  REQUIRE_MESSAGE(process_->wait(10s).has_value(), "coordd did not exit on signal " << signal);
}

RunningCoordd::~RunningCoordd() {
  if (process_->exit_status()) return;
  process_->send_signal(SIGTERM);
  process_->wait(10s);
}

std::string iso_time_in(std::chrono::milliseconds offset) {
  auto now =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  return coordd::format_timestamp(now + offset);
}

json::object reservation(const std::string& id, const std::string& run_id,
                         const std::string& branch, std::vector<std::string> addresses,
                         std::chrono::milliseconds ttl) {
  json::array list;
  for (std::string& address : addresses) list.emplace_back(address);
  return json::object{{"reservation_id", id},
                      {"run_id", run_id},
                      {"branch", branch},
                      {"addresses", std::move(list)},
                      {"created_at", iso_time_in(std::chrono::milliseconds(0))},
                      {"expires_at", iso_time_in(ttl)},
                      {"operation", "edit"}};
}

std::string long_id(char seed) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 64; ++i) id += kHex[(seed * 7 + i * 13) % 16];
  return id;
}

std::vector<std::string> coordctl(std::vector<std::string> args) {
  args.insert(args.begin(), coordctl_binary());
  return args;
}

json::object parse_line(const std::string& line) {
  boost::system::error_code ec;
  json::value value = json::parse(line, ec);
  REQUIRE_MESSAGE(!ec, "not JSON: " << line);
  REQUIRE_MESSAGE(value.is_object(), "not a JSON object: " << line);
  return value.get_object();
}

}  // namespace coordctl_test
