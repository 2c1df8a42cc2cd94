#include "tests/soak/directory_churner.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <system_error>

#include "tests/lossless/churn_writer.hpp"
#include "tests/soak/soak_fixture.hpp"

namespace coordd::soak {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kIds = 20;

std::string id_of(std::size_t index) { return "churn-dep-" + std::to_string(index); }

}  // namespace

DirectoryChurner::DirectoryChurner(fs::path coordination, std::uint32_t seed,
                                   double operations_per_second)
    : dir_(coordination / kChurnedKindDir),
      random_(seed),
      operations_per_second_(operations_per_second) {}

std::string DirectoryChurner::replace() {
  std::error_code ec;
  fs::path next = dir_.parent_path() / ".churn-next";
  fs::path old = dir_.parent_path() / ".churn-old";
  fs::remove_all(next, ec);
  fs::create_directory(next, ec);
  if (ec) return "churner: cannot make " + next.string() + ": " + ec.message();
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    fs::copy_file(entry.path(), next / entry.path().filename(), ec);
    if (ec) return "churner: cannot copy " + entry.path().string() + ": " + ec.message();
  }
  if (ec) return "churner: cannot list " + dir_.string() + ": " + ec.message();
  fs::path record = next / (id_of(random_() % kIds) + ".json");
  std::string error;
  if (fs::exists(record) && random_() % 3 == 0) {
    error = lossless::try_remove(record);
  } else {
    boost::json::object data{{"dependency_id", record.stem().string()},
                             {"run_id", "run-churn"},
                             {"branch", "main"},
                             {"revision", ++revision_}};
    error = lossless::try_write_atomic(record, boost::json::serialize(data));
  }
  if (!error.empty()) return "churner: " + error;
  fs::rename(dir_, old, ec);
  if (!ec) fs::rename(next, dir_, ec);
  if (ec) return "churner: cannot swap " + dir_.string() + ": " + ec.message();
  fs::remove_all(old, ec);
  if (ec) return "churner: cannot remove " + old.string() + ": " + ec.message();
  ++counts_.replacements;
  return "";
}

std::string DirectoryChurner::flip_permissions() {
  std::error_code ec;
  fs::permissions(dir_, fs::perms::none, ec);
  if (!ec)
    fs::permissions(dir_,
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec,
                    ec);
  if (ec) return "churner: cannot chmod " + dir_.string() + ": " + ec.message();
  ++counts_.permission_flips;
  return "";
}

std::string DirectoryChurner::run(std::stop_token stop) {
  auto period = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(1.0 / operations_per_second_));
  auto next = SteadyClock::now();
  while (pause_until(stop, next)) {
    std::string error = random_() % 3 == 0 ? flip_permissions() : replace();
    if (!error.empty()) return error;
    next += period;
  }
  return "";
}

}  // namespace coordd::soak
