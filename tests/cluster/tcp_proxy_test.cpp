// TcpProxy on itself, in front of a one-node nats-server, whose INFO line
// greets every connection: passed, cut and blackholed.
#include "tests/support/tcp_proxy.hpp"

#include <doctest/doctest.h>

#include "tests/cluster/loopback_client.hpp"
#include "tests/support/nats_cluster.hpp"
#include "tests/support/workspace.hpp"

namespace coordd::cluster_suite {
namespace {

using namespace std::chrono_literals;
using support::NatsCluster;
using support::TcpProxy;
using support::TempDir;
using Read = LoopbackClient::Read;

// How long a test waits to be sure nothing arrives through a blackhole.
constexpr auto kSilence = 300ms;

TEST_CASE(
    "a proxy passes bytes, and once cut refuses them; once blackholed it holds the connection but "
    "delivers nothing") {
  TempDir dir("coordd-proxy");
  NatsCluster nats(dir.path(), 1);
  TcpProxy proxy("127.0.0.1", nats.client_port(0));
  LoopbackClient open_before_cut(proxy.port());
  CHECK(open_before_cut.read_until("INFO", 5s) == Read::kFound);

  proxy.cut();
  CHECK(open_before_cut.read_until("never sent", 5s) == Read::kClosed);
  CHECK(LoopbackClient(proxy.port()).read_until("INFO", 5s) == Read::kClosed);

  proxy.pass();
  LoopbackClient open_before_blackhole(proxy.port());
  CHECK(open_before_blackhole.read_until("INFO", 5s) == Read::kFound);
  proxy.blackhole();
  CHECK(open_before_blackhole.send("CONNECT {\"verbose\":false}\r\nPING\r\n"));
  CHECK(open_before_blackhole.read_until("PONG", kSilence) == Read::kTimedOut);
  CHECK(LoopbackClient(proxy.port()).read_until("INFO", kSilence) == Read::kTimedOut);

  proxy.pass();
  CHECK(LoopbackClient(proxy.port()).read_until("INFO", 5s) == Read::kFound);
  CHECK(proxy.accepted() == 5);
}

}  // namespace
}  // namespace coordd::cluster_suite
