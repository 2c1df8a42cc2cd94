// `coordctl recv`: takes an agent's waiting messages from the shell, with
// acknowledged delivery (PROTOCOL.md): it says hello as the agent with
// "ack":true (and credit --max), prints the messages it is sent, flushes
// stdout, and only then acks exactly those; a message it could not print
// (or ack) comes again at the agent's next recv. Exit 0 when it printed at
// least one message, 3 when none came within --wait, 1 for an error (coordd
// not answering, the mailbox held by another connection, an ack that did not
// go through), 2 for a bad command line, 130 on SIGINT/SIGTERM. Main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <string>

namespace coordd {

inline constexpr int kRecvNothing = 3;

struct RecvArgs {
  std::string agent;
  std::size_t max = 0;  // 0: every waiting message
  double wait = 0.0;    // seconds to wait for a first message when none waits
  bool json = false;
  bool takeover = false;
  std::string socket;
  double timeout = 10.0;
};

CLI::App* add_recv_command(CLI::App& app, RecvArgs& args);
int run_recv(const RecvArgs& args);

}  // namespace coordd
