#include "tests/cluster/swarm_fixture.hpp"

#include <fstream>
#include <sstream>

#include "proto/kind.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::swarm {
namespace {

std::string canonical_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? "<bad json: " + std::string(text) + ">" : json::serialize(v);
}

std::string describe(const std::map<std::string, std::string>& records) {
  std::string out;
  for (const auto& [key, data] : records) out += "  " + key + " " + data + "\n";
  return out.empty() ? "  (none)\n" : out;
}

}  // namespace

Swarm::Swarm(int hosts, std::vector<std::string> extra_flags)
    : dir_("coordd-swarm"), extra_flags_(std::move(extra_flags)) {
  nats_ = std::make_unique<support::NatsCluster>(dir_.path() / "nats");
  for (int i = 0; i < hosts; ++i) {
    Node node;
    node.host = std::string(1, char('a' + i));
    support::WorkspaceOptions options;
    options.label = "coordd-swarm-" + node.host;
    options.parent = dir_.path();
    node.ws = std::make_unique<Workspace>(options);
    for (int server : {i % 3, (i + 1) % 3}) {
      node.proxies.push_back(
          std::make_unique<support::TcpProxy>("127.0.0.1", nats_->client_port(server)));
    }
    nodes_.push_back(std::move(node));
  }
  for (int i = 0; i < hosts; ++i) restart(i);
}

std::vector<std::string> Swarm::flags_for(int i) const {
  const Node& n = nodes_.at(std::size_t(i));
  std::vector<std::string> flags{"--cluster",
                                 n.proxies[0]->url() + "," + n.proxies[1]->url(),
                                 "--no-cluster-discovery",
                                 "--cluster-name",
                                 "swarmtest",
                                 "--host-id",
                                 n.host,
                                 "--repo-id",
                                 n.ws->repo().string() + "=" + std::string(kRepoId),
                                 "--state-dir",
                                 "none"};
  flags.insert(flags.end(), extra_flags_.begin(), extra_flags_.end());
  if (auto own = node_flags_.find(i); own != node_flags_.end()) {
    flags.insert(flags.end(), own->second.begin(), own->second.end());
  }
  return flags;
}

void Swarm::restart(int i, std::vector<std::string> node_flags) {
  node_flags_[i] = std::move(node_flags);
  restart(i);
}

void Swarm::restart(int i) {
  Node& n = node(i);
  n.daemon.reset();
  n.daemon = std::make_unique<DaemonProcess>(*n.ws, flags_for(i));
}

json::object Swarm::sync(int i, std::uint64_t timeout_ms) {
  EventReader reader = node(i).daemon->connect();
  return reader.call({{"op", "sync"}, {"scope", "cluster"}, {"timeout_ms", timeout_ms}});
}

std::map<std::string, std::string> Swarm::list(int i) {
  EventReader reader = node(i).daemon->connect();
  // After a fault the swarm may need seconds (a meta leader election, nats.c
  // re-making a watch lost with its server) before a cluster sync can be
  // confirmed: each try is bounded, and only a confirmed one counts.
  json::object synced;
  bool confirmed = support::poll_until(support::PollClock::now() + 30s, [&] {
    synced = reader.call({{"op", "sync"}, {"scope", "cluster"}, {"timeout_ms", 4000}});
    return synced.at("type") == "synced";
  });
  REQUIRE_MESSAGE(confirmed, "node " << node(i).host << ": " << json::serialize(synced)
                                     << "\nits log:\n"
                                     << node(i).daemon->log());
  json::object reply = reader.call({{"op", "list"}});
  REQUIRE_MESSAGE(reply.at("type") == "list", json::serialize(reply));
  std::map<std::string, std::string> out;
  for (const json::value& record : reply.at("records").as_array()) {
    const json::object& r = record.as_object();
    std::string key = std::string(r.at("origin").as_string()) + "/" +
                      std::string(r.at("kind").as_string()) + "/" +
                      std::string(r.at("id").as_string());
    out[key] = json::serialize(r.at("data"));
  }
  return out;
}

std::map<std::string, std::string> Swarm::disks() {
  std::map<std::string, std::string> out;
  for (const Node& n : nodes_) {
    for (Kind kind : kAllKinds) {
      fs::path dir = n.ws->kind_dir(kind_dir(kind));
      std::error_code ec;
      for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        if (name.starts_with(".") || !name.ends_with(".json")) continue;
        std::ifstream in(entry.path());
        std::stringstream text;
        text << in.rdbuf();
        std::string id = name.substr(0, name.size() - 5);
        boost::system::error_code ec2;
        json::value parsed = json::parse(text.str(), ec2);
        if (!ec2 && parsed.is_object() && parsed.as_object().contains("coordd_mirror_of")) continue;
        out[n.host + "/" + std::string(kind_name(kind)) + "/" + id] = canonical_json(text.str());
      }
    }
  }
  return out;
}

void Swarm::settle(int i, std::chrono::milliseconds within) {
  EventReader reader = node(i).daemon->connect();
  json::object synced = reader.call({{"op", "sync"}});
  REQUIRE_MESSAGE(synced.at("type") == "synced", json::serialize(synced));
  json::object cluster;
  bool published = support::poll_until(support::PollClock::now() + within, [&] {
    cluster = reader.call({{"op", "status"}}).at("cluster").as_object();
    return cluster.at("connected") == true && cluster.at("joined") == true &&
           cluster.at("backlog") == 0 && cluster.at("in_flight") == 0 &&
           cluster.at("repos").as_array().size() == 1 &&
           cluster.at("repos").as_array()[0].at("caught_up") == true;
  });
  REQUIRE_MESSAGE(published, "node " << node(i).host << " did not publish its changes within "
                                     << within.count() << " ms: " << json::serialize(cluster)
                                     << "\nits log:\n"
                                     << node(i).daemon->log());
}

void Swarm::expect_converged(int i) {
  for (int j = 0; j < size(); ++j) {
    if (node(j).daemon) settle(j);
  }
  std::map<std::string, std::string> want = disks();
  std::map<std::string, std::string> have = list(i);
  for (auto& [key, data] : have) data = canonical_json(data);
  if (have != want) {
    FAIL("node " << node(i).host << "'s list after sync {\"scope\":\"cluster\"}:\n"
                 << describe(have) << "the union of the disks:\n"
                 << describe(want) << "its log:\n"
                 << node(i).daemon->log());
  }
}

void Swarm::expect_all_converged() {
  for (int i = 0; i < size(); ++i) {
    if (node(i).daemon) expect_converged(i);
  }
}

}  // namespace coordd::swarm
