// Fuzzes the request parser and dispatcher: each line of the input is a
// frame handed to RequestHandler::handle on a connection of a real daemon
// object graph (RequestHarness), with the reactor settled after each. It
// must not crash, leak memory or file descriptors, or hang.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/request_harness.hpp"

namespace {

std::size_t open_fd_count() {
  std::error_code ec;
  std::size_t count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++count;
  }
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  spdlog::set_level(spdlog::level::off);
  std::signal(SIGPIPE, SIG_IGN);  // as Daemon::run does
  coordd::fuzz::RequestHarness::shared_root();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t fds_before = open_fd_count();
  {
    coordd::fuzz::RequestHarness harness(coordd::fuzz::RequestHarness::shared_root());
    std::string_view input(reinterpret_cast<const char*>(data), size);
    // Frames as the connection's framer cuts them: without the '\n' and a
    // trailing '\r', empty lines skipped; an unterminated last line counts.
    while (!input.empty()) {
      std::size_t newline = input.find('\n');
      std::string_view line = input.substr(0, newline);
      input.remove_prefix(newline == std::string_view::npos ? input.size() : newline + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) harness.handle(line);
    }
  }
  FUZZ_CHECK(open_fd_count() == fds_before);
  return 0;
}
