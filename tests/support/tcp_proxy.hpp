// TcpProxy: a loopback TCP proxy that stands between a client and a server to
// fake a partition: it passes bytes both ways, cuts every link, or blackholes
// them (connections stay open, bytes vanish). It runs an Asio io_context on
// a thread of its own; pass(), cut() and blackhole() may be called from any
// other thread, and return once the new mode is in force.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>

namespace coordd::support {

class ProxiedLink;

enum class ProxyMode {
  kPass,       // bytes flow both ways
  kCut,        // every link is closed; a new one is accepted and closed at once
  kBlackhole,  // links stay open, new ones are accepted; every byte is dropped
};

class TcpProxy {
 public:
  // Listens on a free 127.0.0.1 port and forwards to target_host:target_port
  // (resolved now). Throws boost::system::system_error when it cannot.
  TcpProxy(const std::string& target_host, int target_port);
  // Stops the thread, closing the listener and every link.
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

  // Sets the mode, as ProxyMode describes. Bytes dropped while blackholed are
  // lost for good, so a link that was blackholed is seldom usable after
  // pass(): expect its client to reconnect. Not from the proxy's own thread.
  void pass() { set_mode(ProxyMode::kPass); }
  void cut() { set_mode(ProxyMode::kCut); }
  void blackhole() { set_mode(ProxyMode::kBlackhole); }
  void set_mode(ProxyMode mode);

  // Links accepted since it started, and links open now (any thread).
  std::uint64_t accepted() const { return accepted_; }
  std::size_t open_links() const { return open_links_; }

 private:
  friend class ProxiedLink;

  void accept_next();
  void forget(const std::shared_ptr<ProxiedLink>& link);
  ProxyMode mode() const { return mode_; }
  // Runs `work` on the proxy's thread and waits until it has.
  template <typename Work>
  void run_on_proxy_thread(Work work);

  // Everything below but the counters is touched on the proxy's thread only
  // (run_on_proxy_thread gets the others there).
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> keep_running_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::endpoint target_;
  int port_ = 0;
  ProxyMode mode_ = ProxyMode::kPass;
  bool stopping_ = false;
  std::atomic<std::uint64_t> accepted_ = 0;
  std::atomic<std::size_t> open_links_ = 0;
  std::set<std::shared_ptr<ProxiedLink>> links_;
  std::thread thread_;
};

}  // namespace coordd::support
