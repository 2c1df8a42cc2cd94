#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

// The engine logs a warning for every bad file the tests feed it; keep the
// test output readable unless COORDD_TEST_LOG is set.
int main(int argc, char** argv) {
  if (std::getenv("COORDD_TEST_LOG") == nullptr) spdlog::set_level(spdlog::level::off);
  doctest::Context context(argc, argv);
  return context.run();
}
