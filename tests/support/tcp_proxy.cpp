#include "tests/support/tcp_proxy.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <vector>

namespace coordd::support {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// What one direction of a link holds at most: a read waits for the write of
// the one before, so a slow reader slows its writer, as TCP would.
constexpr std::size_t kLinkBufferBytes = 16 * 1024;

// Closes with an RST (SO_LINGER 0), as a reset link looks to its peer.
void reset(tcp::socket& socket) {
  error_code ignored;
  if (socket.is_open()) socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

}  // namespace

// One accepted connection and its connection to the target. Lives while a
// handler holds it or the proxy lists it. Proxy thread only.
class ProxiedLink : public std::enable_shared_from_this<ProxiedLink> {
 public:
  ProxiedLink(TcpProxy& proxy, tcp::socket client)
      : proxy_(proxy), client_(std::move(client)), server_(client_.socket.get_executor()) {
    client_.open = true;
  }

  // Connects to the target, then pumps both ways.
  void start() {
    auto self(shared_from_this());
    server_.socket.async_connect(proxy_.target_, [this, self](error_code error) {
      if (closed_) return;
      if (error) {
        // Blackholed, a failed connect is as silent as the rest.
        if (proxy_.mode() != ProxyMode::kBlackhole) return close();
      } else {
        server_.open = true;
        read_from(server_);
      }
      read_from(client_);
    });
  }

  // Resets both sockets and leaves the proxy's list; idempotent.
  void close() {
    if (closed_) return;
    closed_ = true;
    client_.open = server_.open = false;
    reset(client_.socket);
    reset(server_.socket);
    proxy_.forget(shared_from_this());
  }

  // False once either side has gone.
  bool whole() const { return client_.open && server_.open; }

 private:
  struct Side {
    explicit Side(tcp::socket s) : socket(std::move(s)) {}
    explicit Side(const tcp::socket::executor_type& executor) : socket(executor) {}
    tcp::socket socket;
    bool open = false;
    std::array<char, kLinkBufferBytes> inbound;  // read from this side
  };

  Side& other(Side& side) { return &side == &client_ ? server_ : client_; }

  void read_from(Side& from) {
    auto self(shared_from_this());
    from.socket.async_read_some(
        asio::buffer(from.inbound), [this, self, &from](error_code error, std::size_t bytes) {
          if (closed_) return;
          if (error) return lose(from);
          Side& to = other(from);
          if (proxy_.mode() != ProxyMode::kPass || !to.open) return read_from(from);  // dropped
          asio::async_write(to.socket, asio::buffer(from.inbound.data(), bytes),
                            [this, self, &from, &to](error_code write_error, std::size_t) {
                              if (closed_) return;
                              if (write_error) {
                                lose(to);
                                if (!closed_) read_from(from);
                                return;
                              }
                              read_from(from);
                            });
        });
  }

  // A side closed or failed: the link goes with it, except under a blackhole,
  // which hides that from the other side until pass() or cut().
  void lose(Side& side) {
    side.open = false;
    error_code ignored;
    side.socket.close(ignored);
    if (proxy_.mode() != ProxyMode::kBlackhole || !other(side).open) close();
  }

  TcpProxy& proxy_;
  Side client_;
  Side server_;
  bool closed_ = false;
};

TcpProxy::TcpProxy(const std::string& target_host, int target_port)
    : keep_running_(asio::make_work_guard(io_)),
      acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
  target_ = *tcp::resolver(io_).resolve(target_host, std::to_string(target_port)).begin();
  port_ = acceptor_.local_endpoint().port();
  accept_next();
  thread_ = std::thread([this] { io_.run(); });
}

TcpProxy::~TcpProxy() {
  run_on_proxy_thread([this] {
    stopping_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    for (const auto& link : std::vector(links_.begin(), links_.end())) link->close();
  });
  // The aborted handlers still run, dropping the last references to the links.
  keep_running_.reset();
  thread_.join();
}

void TcpProxy::set_mode(ProxyMode mode) {
  run_on_proxy_thread([this, mode] {
    mode_ = mode;
    // Cut: every link goes. Pass: so do links that lost a side while blackholed.
    for (const auto& link : std::vector(links_.begin(), links_.end())) {
      if (mode == ProxyMode::kCut || (mode == ProxyMode::kPass && !link->whole())) link->close();
    }
  });
}

void TcpProxy::accept_next() {
  acceptor_.async_accept([this](error_code error, tcp::socket client) {
    if (stopping_) return;
    if (!error) {
      ++accepted_;
      if (mode_ == ProxyMode::kCut) {
        reset(client);
      } else {
        auto link = std::make_shared<ProxiedLink>(*this, std::move(client));
        links_.insert(link);
        open_links_ = links_.size();
        link->start();
      }
    }
    // A failed accept (out of descriptors, say) only loses that connection.
    accept_next();
  });
}

void TcpProxy::forget(const std::shared_ptr<ProxiedLink>& link) {
  links_.erase(link);
  open_links_ = links_.size();
}

template <typename Work>
void TcpProxy::run_on_proxy_thread(Work work) {
  std::promise<void> done;
  asio::post(io_, [&] {
    work();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace coordd::support
