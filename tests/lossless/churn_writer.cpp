#include "tests/lossless/churn_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>

#include "proto/kind.hpp"

namespace coordd::lossless {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string failure(std::string_view what, const fs::path& path) {
  return std::string(what) + " " + path.string() + ": " + std::strerror(errno);
}

// A reservation that stays active for the whole test, so no lease expires.
constexpr std::string_view kFarExpiry = "2099-01-01T00:00:00+00:00";

}  // namespace

std::string try_write_in_place(const fs::path& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return failure("open", path);
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string error = failure("write", path);
      ::close(fd);
      return error;
    }
    bytes.remove_prefix(std::size_t(n));
  }
  if (::close(fd) != 0) return failure("close", path);
  return "";
}

std::string try_write_atomic(const fs::path& path, std::string_view bytes) {
  fs::path staged = path.parent_path() / ("." + path.stem().string() + ".tmp");
  if (std::string error = try_write_in_place(staged, bytes); !error.empty()) return error;
  if (::rename(staged.c_str(), path.c_str()) != 0) return failure("rename to", path);
  return "";
}

std::string try_remove(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) return failure("unlink", path);
  return "";
}

ChurnCounts& ChurnCounts::operator+=(const ChurnCounts& more) {
  added += more.added;
  modified_by_rename += more.modified_by_rename;
  modified_in_place += more.modified_in_place;
  removed += more.removed;
  return *this;
}

ChurnWriter::ChurnWriter(fs::path coordination, ChurnOptions options)
    : coordination_(std::move(coordination)), options_(std::move(options)) {}

std::string ChurnWriter::run_id_of(std::size_t index) { return index % 2 == 0 ? "run-a" : "run-b"; }

std::string ChurnWriter::record_json(std::string_view kind, std::size_t index,
                                     std::uint64_t revision) const {
  std::string id = std::string(kind.substr(0, 3)) + "-" + std::to_string(index);
  json::object record{{"run_id", run_id_of(index)},
                      {"branch", "main"},
                      {"revision", revision},
                      {"note", std::string(32 + revision % 64, 'x')}};
  if (kind == "reservations") {
    record["reservation_id"] = id;
    record["addresses"] = json::array{"src/churn.py::f" + std::to_string(index)};
    record["expires_at"] = kFarExpiry;
  } else {
    std::optional<Kind> parsed = parse_kind(kind);
    record[std::string(parsed ? kind_name(*parsed) : kind) + "_id"] = id;
  }
  return json::serialize(record);
}

bool ChurnWriter::run() {
  std::mt19937 random(options_.seed);
  std::size_t pool = options_.kinds.size() * options_.ids_per_kind;
  auto path_of = [&](std::size_t slot) {
    const std::string& kind = options_.kinds[slot / options_.ids_per_kind];
    return coordination_ / kind /
           (kind.substr(0, 3) + "-" + std::to_string(slot % options_.ids_per_kind) + ".json");
  };
  std::vector<bool> present(pool, false);
  for (std::size_t slot = 0; slot < pool; ++slot) present[slot] = fs::exists(path_of(slot));
  // Runs with different seeds never write identical content.
  std::uint64_t revision = std::uint64_t(options_.seed) * 1'000'000;
  for (std::size_t op = 0; op < options_.operations; ++op) {
    std::size_t slot = random() % pool;
    const std::string& kind = options_.kinds[slot / options_.ids_per_kind];
    std::size_t index = slot % options_.ids_per_kind;
    fs::path path = path_of(slot);
    unsigned dice = random() % 8;
    std::string error;
    if (!present[slot]) {
      // Creations come both ways: renamed into place, and written in place.
      error = dice < 5 ? try_write_atomic(path, record_json(kind, index, ++revision))
                       : try_write_in_place(path, record_json(kind, index, ++revision));
      present[slot] = true;
      ++counts_.added;
    } else if (dice < 2) {
      error = try_remove(path);
      present[slot] = false;
      ++counts_.removed;
    } else if (dice < 5) {
      error = try_write_atomic(path, record_json(kind, index, ++revision));
      ++counts_.modified_by_rename;
    } else {
      error = try_write_in_place(path, record_json(kind, index, ++revision));
      ++counts_.modified_in_place;
    }
    if (!error.empty()) {
      error_ = error;
      return false;
    }
  }
  return true;
}

}  // namespace coordd::lossless
