// StopSignals: SIGINT and SIGTERM for coordctl's blocking loops. The handler
// only records the request and shuts down the socket being read, so a
// blocked read returns at once (and without SA_RESTART, poll() returns EINTR):
// there is no window in which a signal is noticed only at the next event.
// Installed once per process from the main thread; the asio-based standalone
// mode later replaces the handlers with its own signal_set, after checking
// requested() for a signal that came first.
#pragma once

namespace coordd {

class StopSignals {
 public:
  // Installs the handlers (idempotent).
  static void install();
  // Whether SIGINT or SIGTERM has arrived since install().
  static bool requested();
  // The socket the handler shuts down (-1: none). Check requested() after
  // setting it: a signal that came before was recorded, not acted on.
  static void shut_down_on_stop(int fd);
};

}  // namespace coordd
