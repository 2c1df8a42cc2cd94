#include "bench/records.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "bench/latency.hpp"

namespace coordd::bench {
namespace {

constexpr std::string_view kFarFuture = "2099-01-01T00:00:00+00:00";

[[noreturn]] void fail(std::string_view what, const std::string& path) {
  throw std::runtime_error(std::string(what) + " " + path + ": " + std::strerror(errno));
}

void write_file(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open", path);
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      fail("write", path);
    }
    content.remove_prefix(std::size_t(n));
  }
  ::close(fd);
}

}  // namespace

std::string reservation_json(std::string_view id, std::size_t target_bytes) {
  std::string id_s(id);
  std::string full = "{\"reservation_id\":\"" + id_s +
                     "\",\"run_id\":\"bench-run\",\"branch\":\"main\",\"addresses\":"
                     "[\"src/billing.py::compute_total\"],\"created_at\":"
                     "\"2026-01-01T00:00:00+00:00\",\"expires_at\":\"" +
                     std::string(kFarFuture) + "\",\"note\":\"";
  std::string small = "{\"reservation_id\":\"" + id_s + "\",\"expires_at\":\"" +
                      std::string(kFarFuture) + "\",\"note\":\"";
  std::string base = full.size() + 2 <= target_bytes ? full : small;
  std::size_t pad = target_bytes > base.size() + 2 ? target_bytes - base.size() - 2 : 0;
  return base + std::string(pad, 'x') + "\"}";
}

std::string indexed_id(std::string_view prefix, std::size_t index) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%07zu", index);
  return std::string(prefix) + digits;
}

long long index_of_id(std::string_view id, std::string_view prefix) {
  if (!id.starts_with(prefix)) return -1;
  id.remove_prefix(prefix.size());
  long long value = -1;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
  return ec == std::errc() && end == id.data() + id.size() ? value : -1;
}

RecordDir::RecordDir(std::filesystem::path dir) : dir_(dir.string()) {}

std::string RecordDir::final_path(std::string_view id) const {
  return dir_ + "/" + std::string(id) + ".json";
}

std::string RecordDir::temp_path(std::string_view id) const {
  return dir_ + "/." + std::string(id) + ".tmp";
}

void RecordDir::write_direct(std::string_view id, std::string_view content) {
  write_file(final_path(id), content);
}

void RecordDir::stage(std::string_view id, std::string_view content) {
  write_file(temp_path(id), content);
}

std::int64_t RecordDir::publish(std::string_view id) {
  std::string from = temp_path(id);
  std::string to = final_path(id);
  std::int64_t t = mono_now_ns();
  if (::rename(from.c_str(), to.c_str()) != 0) fail("rename", from);
  return t;
}

std::int64_t RecordDir::write_atomic(std::string_view id, std::string_view content) {
  stage(id, content);
  return publish(id);
}

void RecordDir::remove(std::string_view id) {
  std::string path = final_path(id);
  if (::unlink(path.c_str()) != 0) fail("unlink", path);
}

}  // namespace coordd::bench
