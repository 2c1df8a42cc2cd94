#include "daemon/server/server_core.hpp"

namespace coordd {

ServerCore::ServerCore(boost::asio::io_context& io, Monitor& monitor, ServerLimits limits,
                       DaemonInfo info)
    : monitor_(monitor),
      limits_(limits),
      journal_(limits_.journal_events, limits_.journal_bytes),
      manager_(journal_),
      sync_(io, monitor_.engine(), monitor_.file_system()),
      bus_(io, monitor_.engine(), manager_, limits_.messages),
      handler_(monitor_, journal_, manager_, sync_, bus_, limits_.connection, std::move(info)),
      read_buffer_(kReadBufferBytes),
      lingering_(monitor_.engine().clock(), read_buffer_),
      slow_consumer_log_(monitor_.engine().clock(), io.get_executor()),
      context_{monitor_.engine(),  journal_,     handler_,   manager_,          bus_,
               limits_.connection, read_buffer_, lingering_, slow_consumer_log_} {}

void ServerCore::start(MessageStore* store) {
  sync_.set_cookie_ordering([this](RootId root) { return monitor_.orders_cookies(root); });
  sync_.set_root_health([this](RootId root) { return monitor_.degraded_reason(root); });
  sync_.remove_stray_cookies();
  monitor_.engine().set_cookie_listener(
      [this](RootId root, std::string_view name) { sync_.on_cookie(root, name); });
  if (store) bus_.recover(*store);
  journal_.start_after(monitor_.engine().last_seq());
  monitor_.set_sink(&manager_);
}

void ServerCore::stop() {
  manager_.stop_all();
  lingering_.stop_all();
  sync_.cancel_all();
}

std::shared_ptr<Connection> ServerCore::connect(boost::asio::local::stream_protocol::socket socket,
                                                PeerCredentials peer, Access access) {
  auto connection =
      std::make_shared<Connection>(std::move(socket), context_, manager_.next_id(), peer, access);
  manager_.start(connection);
  return connection;
}

}  // namespace coordd
