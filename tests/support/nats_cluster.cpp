#include "tests/support/nats_cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "tests/support/poll_until.hpp"

namespace coordd::support {

namespace {

using Clock = std::chrono::steady_clock;

// A socket that closes itself.
class SocketFd {
 public:
  SocketFd() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) {}
  ~SocketFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  SocketFd(const SocketFd&) = delete;
  SocketFd& operator=(const SocketFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// `count` distinct ports the kernel found free on 127.0.0.1. All are held
// bound until the last is chosen, so none repeats; nats-server binds them
// moments later (with SO_REUSEADDR, as Go does).
std::vector<int> free_loopback_ports(int count) {
  std::vector<std::unique_ptr<SocketFd>> held;
  std::vector<int> ports;
  for (int n = 0; n < count; ++n) {
    auto socket = std::make_unique<SocketFd>();
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof address;
    if (socket->get() < 0 ||
        ::bind(socket->get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(socket->get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error(std::string("cannot pick a free port on 127.0.0.1: ") +
                               std::strerror(errno));
    }
    ports.push_back(ntohs(address.sin_port));
    held.push_back(std::move(socket));
  }
  return ports;
}

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd entry{fd, events, 0};
    int ready = ::poll(&entry, 1, static_cast<int>(left.count()));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

HttpReply failure(std::string why) { return HttpReply{0, std::move(why)}; }

std::string json_string(const boost::json::value* value) {
  if (value == nullptr || !value->is_string()) return "";
  return std::string(value->get_string());
}

}  // namespace

HttpReply http_get(int port, const std::string& path, std::chrono::milliseconds within) {
  const Clock::time_point deadline = Clock::now() + within;
  SocketFd socket;
  if (socket.get() < 0) return failure(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address = loopback(port);
  if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno != EINPROGRESS) return failure(std::string("connect: ") + std::strerror(errno));
    if (!wait_for(socket.get(), POLLOUT, deadline)) return failure("connect timed out");
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return failure(std::string("connect: ") + std::strerror(error));
  }

  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  for (std::size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(socket.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      if (!wait_for(socket.get(), POLLOUT, deadline)) return failure("send timed out");
    } else if (n < 0 && errno != EINTR) {
      return failure(std::string("send: ") + std::strerror(errno));
    }
  }

  // HTTP/1.0: the server closes the connection after the reply.
  std::string reply;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::recv(socket.get(), buffer, sizeof buffer, 0);
    if (n > 0) {
      reply.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN) {
      if (!wait_for(socket.get(), POLLIN, deadline)) return failure("no full reply in time");
    } else if (errno != EINTR) {
      return failure(std::string("recv: ") + std::strerror(errno));
    }
  }

  // "HTTP/1.x 200 OK\r\n...headers...\r\n\r\nbody"
  std::size_t space = reply.find(' ');
  std::size_t head_end = reply.find("\r\n\r\n");
  if (reply.rfind("HTTP/", 0) != 0 || space == std::string::npos || head_end == std::string::npos) {
    return failure("not an HTTP reply: " + reply.substr(0, 200));
  }
  return HttpReply{std::atoi(reply.c_str() + space + 1), reply.substr(head_end + 4)};
}

NatsCluster::NatsCluster(const fs::path& dir, int nodes, NatsClusterOptions options)
    : dir_(dir), options_(std::move(options)) {
  if (nodes < 1) throw std::invalid_argument("a NATS cluster needs at least one node");
  server_path_ = find_program(options_.server);
  if (server_path_.empty()) {
    throw std::runtime_error(options_.server +
                             " is not installed (or not executable): run .ci/bootstrap.sh, "
                             "which installs Debian's nats-server");
  }
  fs::create_directories(dir_);
  std::vector<int> ports = free_loopback_ports(3 * nodes);
  nodes_.resize(static_cast<std::size_t>(nodes));
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].client_port = ports[3 * i];
    nodes_[i].monitor_port = ports[3 * i + 1];
    nodes_[i].cluster_port = ports[3 * i + 2];
  }
  std::vector<int> all;
  for (int i = 0; i < nodes; ++i) {
    write_config(i);
    launch(i);
    all.push_back(i);
  }
  // All are started before any is awaited: a meta leader needs a quorum.
  await_ready(all);
}

NatsCluster::~NatsCluster() {
  for (Node& each : nodes_) {
    if (each.process && !each.process->exit_status()) each.process->send_signal(SIGTERM);
  }
  for (Node& each : nodes_) {
    if (each.process) each.process->stop(std::chrono::seconds(10));
  }
}

std::string NatsCluster::server_name(int i) const {
  node(i);
  return "n" + std::to_string(i + 1);
}

std::string NatsCluster::url(int i) const {
  return "nats://127.0.0.1:" + std::to_string(client_port(i));
}

std::string NatsCluster::urls() const {
  std::string joined;
  for (int i = 0; i < size(); ++i) joined += (i == 0 ? "" : ",") + url(i);
  return joined;
}

int NatsCluster::client_port(int i) const { return node(i).client_port; }
int NatsCluster::monitor_port(int i) const { return node(i).monitor_port; }
int NatsCluster::cluster_port(int i) const { return node(i).cluster_port; }
fs::path NatsCluster::log(int i) const { return dir_ / (server_name(i) + ".log"); }

void NatsCluster::kill(int i) {
  if (running(i)) node(i).process->stop(std::chrono::milliseconds(0));
}

void NatsCluster::stop(int i) {
  if (running(i)) node(i).process->stop(std::chrono::seconds(10));
}

void NatsCluster::start(int i) {
  if (running(i)) return;
  launch(i);
  await_ready({i});
}

bool NatsCluster::running(int i) {
  Node& n = node(i);
  return n.process && !n.process->wait(std::chrono::milliseconds(0));
}

bool NatsCluster::ready(int i) {
  if (http_get(monitor_port(i), "/healthz").status != 200) return false;
  return size() == 1 || !meta_leader(i).empty();
}

std::string NatsCluster::meta_leader(int i) {
  HttpReply reply = http_get(monitor_port(i), "/jsz");
  if (reply.status != 200) return "";
  boost::system::error_code error;
  boost::json::value jsz = boost::json::parse(reply.body, error);
  if (error || !jsz.is_object()) return "";
  const boost::json::value* meta = jsz.as_object().if_contains("meta_cluster");
  if (meta == nullptr || !meta->is_object()) return "";
  return json_string(meta->as_object().if_contains("leader"));
}

// Each node lists only the streams it hosts, so an R1 stream is seen on one
// node alone: every running node is asked until one knows the leader.
std::string NatsCluster::stream_leader(const std::string& stream) {
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) continue;
    HttpReply reply = http_get(monitor_port(i), "/jsz?accounts=true&streams=true");
    if (reply.status != 200) continue;
    boost::system::error_code error;
    boost::json::value jsz = boost::json::parse(reply.body, error);
    if (error || !jsz.is_object()) continue;
    const boost::json::value* accounts = jsz.as_object().if_contains("account_details");
    if (accounts == nullptr || !accounts->is_array()) continue;
    for (const boost::json::value& account : accounts->get_array()) {
      const boost::json::value* streams =
          account.is_object() ? account.get_object().if_contains("stream_detail") : nullptr;
      if (streams == nullptr || !streams->is_array()) continue;
      for (const boost::json::value& detail : streams->get_array()) {
        if (!detail.is_object()) continue;
        const boost::json::object& fields = detail.get_object();
        if (json_string(fields.if_contains("name")) != stream) continue;
        const boost::json::value* cluster = fields.if_contains("cluster");
        std::string leader = cluster != nullptr && cluster->is_object()
                                 ? json_string(cluster->get_object().if_contains("leader"))
                                 : "";
        if (!leader.empty()) return leader;
      }
    }
  }
  return "";
}

int NatsCluster::node_index(const std::string& name) const {
  for (int i = 0; i < size(); ++i) {
    if (server_name(i) == name) return i;
  }
  return -1;
}

std::string NatsCluster::log_tail(int i, std::size_t lines) const {
  std::ifstream in(log(i));
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string text;
  for (const std::string& line : tail) text += line + "\n";
  return text;
}

void NatsCluster::write_config(int i) const {
  std::ostringstream config;
  config << "server_name: " << server_name(i) << "\n"
         << "listen: 127.0.0.1:" << client_port(i) << "\n"
         << "http: 127.0.0.1:" << monitor_port(i) << "\n"
         << "ping_interval: \"1s\"\n"
         << "ping_max: 2\n"
         << "jetstream { store_dir: \"" << (dir_ / server_name(i)).string()
         << "\", max_memory_store: 64MB, max_file_store: 512MB }\n";
  if (size() > 1) {
    config << "cluster {\n  name: " << options_.cluster_name << "\n"
           << "  listen: 127.0.0.1:" << cluster_port(i) << "\n  routes: [\n";
    for (int peer = 0; peer < size(); ++peer) {
      if (peer != i) config << "    nats-route://127.0.0.1:" << cluster_port(peer) << "\n";
    }
    config << "  ]\n}\n";
  }
  config << options_.extra_config;
  std::ofstream(dir_ / (server_name(i) + ".conf")) << config.str();
}

void NatsCluster::launch(int i) {
  Node& n = node(i);
  // Each run logs to <name>.log; the one before is kept as <name>.run<k>.log.
  if (n.runs > 0 && fs::exists(log(i))) {
    fs::rename(log(i), dir_ / (server_name(i) + ".run" + std::to_string(n.runs) + ".log"));
  }
  ChildOptions child;
  child.stdout_to = Output::kLog;
  child.stderr_to = Output::kLog;
  child.log = log(i);
  child.stop_grace = std::chrono::seconds(10);
  n.process.reset();
  n.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{server_path_, "-c", (dir_ / (server_name(i) + ".conf")).string()},
      child);
  ++n.runs;
}

void NatsCluster::await_ready(const std::vector<int>& which) {
  const PollClock::time_point deadline = PollClock::now() + options_.ready_within;
  for (int i : which) {
    bool exited = false;
    bool up = poll_until(
        deadline,
        [&] {
          exited = !running(i);
          return exited || ready(i);
        },
        std::chrono::milliseconds(50));
    if (up && !exited) continue;
    HttpReply health = http_get(monitor_port(i), "/healthz");
    std::string what =
        exited ? "exited"
               : "was not ready within " + std::to_string(options_.ready_within.count()) + " ms";
    std::ostringstream why;
    why << "nats-server " << server_name(i) << " (client port " << client_port(i) << ") " << what
        << "; /healthz: " << health.status << " " << health.body << "; meta leader: \""
        << meta_leader(i) << "\"; last lines of " << log(i).string() << ":\n"
        << log_tail(i);
    throw std::runtime_error(why.str());
  }
}

const NatsCluster::Node& NatsCluster::node(int i) const {
  if (i < 0 || i >= size()) {
    throw std::out_of_range("no node " + std::to_string(i) + " in a cluster of " +
                            std::to_string(size()));
  }
  return nodes_[static_cast<std::size_t>(i)];
}

NatsCluster::Node& NatsCluster::node(int i) {
  return const_cast<Node&>(std::as_const(*this).node(i));
}

}  // namespace coordd::support
