// The programs under test, as `meson test` hands them to every suite: coordd
// in COORDD_BIN and coordctl in COORDCTL_BIN. Header-only, and the one doctest
// piece of tests/support (bench/ never includes it): an unset variable fails
// the current test. doctest's test thread only (FAIL throws out of the TEST_CASE).
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

namespace coordd::support {

// The value of `variable`, which names `program`; fails the test when unset.
inline std::string program_path(const char* variable, const char* program) {
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') {
    // As std::string: doctest prints a bare const char* as a pointer.
    FAIL(std::string(variable) << " is not set; run the suite with meson test, which points it at "
                               << std::string(program));
  }
  return value;
}

inline std::string coordd_binary() { return program_path("COORDD_BIN", "coordd"); }
inline std::string coordctl_binary() { return program_path("COORDCTL_BIN", "coordctl"); }

}  // namespace coordd::support
