// coordctl status, readable: the swarm lines a person reads to tell whether
// this coordd is in the swarm, what it shares and what waits to be published.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "client/status_command.hpp"

namespace json = boost::json;

namespace {

json::object status_with(json::object cluster) {
  json::object status =
      json::parse(R"({"version":"0.1.0","roots":["/r"],"records_total":2})").as_object();
  if (!cluster.empty()) status["cluster"] = std::move(cluster);
  return status;
}

}  // namespace

TEST_CASE("coordctl status shows the swarm: host, connection, shared roots, other hosts, backlog") {
  json::object cluster = json::parse(R"({
    "cluster_name":"team","host_id":"laptop-1","connected":true,"joined":true,
    "server":"nats://n1:4222",
    "repos":[{"root":"/r","repo_id":"github.com/acme/shop","caught_up":true,"mirror":true}],
    "unshared":[{"root":"/other","reason":"no remote \"origin\""}],
    "origins":{"laptop-2":{"epoch":"e2","records":7,"last_seen_ms_ago":1200,"skew_ms":3},
               "laptop-3":{"epoch":"e3","records":1,"last_seen_ms_ago":90000,"skew_ms":0,
                           "stale":true}},
    "backlog":4,"in_flight":1,"published":10,"publish_failures":0,"remote_applied":7,
    "remote_rejected":2,"mirror":{"written":5,"removed":1,"conflicts":1,"errors":0},
    "messages":{"ready":true,"connected_elsewhere":3,"sent":12,"received":9,"refused":1,
                "send_failures":2}})")
                             .as_object();
  std::string text = coordd::format_status(status_with(cluster), "/s.sock");
  CHECK(text.find("swarm          team as host laptop-1: joined, connected to nats://n1:4222\n") !=
        std::string::npos);
  CHECK(text.find("shared         /r as github.com/acme/shop, mirrored to disk\n") !=
        std::string::npos);
  CHECK(text.find("not shared     /other: no remote \"origin\"\n") != std::string::npos);
  CHECK(text.find("host laptop-2  7 record(s), last seen 1200 ms ago, clock skew 3 ms\n") !=
        std::string::npos);
  CHECK(text.find("host laptop-3  1 record(s), last seen 90000 ms ago, clock skew 0 ms, stale (its "
                  "coordd is not running)\n") != std::string::npos);
  CHECK(text.find("mirror         5 written, 1 removed, 1 not written (a local file is there), 0 "
                  "failed\n") != std::string::npos);
  CHECK(text.find("swarm messages 3 agent(s) connected elsewhere; 12 sent, 9 received, 1 "
                  "refused, 2 failed sends\n") != std::string::npos);
  CHECK(text.find("swarm backlog  4 to publish, 1 in flight; 10 published, 0 failed (retried), 7 "
                  "applied, 2 refused\n") != std::string::npos);
}

TEST_CASE("coordctl status says why a coordd is not in the swarm, and nothing of it without one") {
  json::object cluster = json::parse(R"({"cluster_name":"team","host_id":"a","connected":true,
    "joined":false,"server":"nats://n1:4222","error":"host id a is held by another live coordd",
    "repos":[],"unshared":[],"origins":{},"backlog":0,"in_flight":0,"published":0,
    "publish_failures":0,"remote_applied":0,"remote_rejected":0,
    "messages":{"ready":false,"error":"cannot create stream COORD_team_MSG"}})")
                             .as_object();
  std::string text = coordd::format_status(status_with(cluster), "/s.sock");
  CHECK(
      text.find("swarm messages not crossing the swarm (cannot create stream COORD_team_MSG)\n") !=
      std::string::npos);
  CHECK(text.find("team as host a: not joined, connected to nats://n1:4222 (host id a is held by "
                  "another live coordd)\n") != std::string::npos);
  CHECK(coordd::format_status(status_with({}), "/s.sock").find("swarm") == std::string::npos);
}
