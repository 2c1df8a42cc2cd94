#include "tests/lossless/subscriber.hpp"

namespace coordd::lossless {
namespace {

constexpr auto kHelloTimeout = std::chrono::seconds(5);

bool is_type(const json::object& line, std::string_view type) {
  const json::value* got = line.if_contains("type");
  return got && *got == json::string_view(type);
}

}  // namespace

Subscriber::Subscriber(std::filesystem::path socket, json::object filters)
    : socket_(std::move(socket)), filters_(std::move(filters)) {}

bool Subscriber::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  return false;
}

bool Subscriber::connect() {
  if (!client_.connect(socket_.string())) return fail(client_.error());
  auto hello =
      request({{"op", "hello"}, {"client", "lossless-tests"}}, SteadyClock::now() + kHelloTimeout);
  if (!hello || !is_type(*hello, "hello")) return fail("hello was not answered");
  epoch_ = std::string(hello->at("epoch").as_string());
  return true;
}

void Subscriber::disconnect() {
  // A fresh client: CoordClient::connect() keeps the old connection's
  // half-read bytes in its framer.
  client_ = CoordClient();
}

std::optional<json::object> Subscriber::subscribe(std::optional<Since> since) {
  json::object subscribe = filters_;
  subscribe["op"] = "subscribe";
  if (since) subscribe["since"] = json::object{{"epoch", since->epoch}, {"seq", since->seq}};
  auto reply = request(std::move(subscribe), SteadyClock::now() + kHelloTimeout);
  if (!reply || !is_type(*reply, "subscribed")) return reply;
  sub_ = reply->at("sub").to_number<std::uint64_t>();
  checker_.receive(*reply);
  const json::value* resumed = reply->if_contains("resumed");
  if (!resumed || *resumed != true) stream_epoch_ = epoch_;  // a fresh state, of this run
  return reply;
}

std::optional<json::object> Subscriber::resume() {
  std::string epoch = stream_epoch_;
  std::uint64_t seq = checker_.resume_point();
  disconnect();
  if (!connect()) return std::nullopt;
  return subscribe(Since{epoch, seq});
}

Subscriber::Read Subscriber::read_line(json::object& line, SteadyClock::time_point deadline) {
  std::string text;
  for (;;) {
    CoordClient::Status status = client_.read_line(text, deadline);
    if (status == CoordClient::Status::kInterrupted) continue;
    if (status == CoordClient::Status::kTimeout) return Read::kTimeout;
    if (status == CoordClient::Status::kClosed) {
      fail("coordd closed the connection");
      return Read::kFailed;
    }
    if (status != CoordClient::Status::kOk) {
      fail(client_.error());
      return Read::kFailed;
    }
    break;
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) {
    fail("coordd sent a line that is not a JSON object: " + text);
    return Read::kFailed;
  }
  line = std::move(parsed.get_object());
  take(line);
  return Read::kLine;
}

void Subscriber::take(const json::object& line) {
  if (keep_lines_) lines_.push_back(line);
  const json::value* sub = line.if_contains("sub");
  bool ours = sub && sub->is_number() && sub->to_number<std::uint64_t>() == sub_;
  if (is_type(line, "synced") ||
      (ours &&
       (is_type(line, "event") || is_type(line, "snapshot_end") || is_type(line, "lagged")))) {
    checker_.receive(line);
  }
}

bool Subscriber::read_until(const std::function<bool(const json::object&)>& done,
                            SteadyClock::time_point deadline) {
  json::object line;
  for (;;) {
    Read read = read_line(line, deadline);
    if (read == Read::kTimeout) return fail("timed out reading from coordd");
    if (read == Read::kFailed) return false;
    if (done(line)) return true;
  }
}

std::optional<json::object> Subscriber::request(json::object request,
                                                SteadyClock::time_point deadline) {
  // Not CoordClient::call: it sets aside the lines before the reply, and the
  // order of events against a bookmark is what is under test.
  std::string req = "lossless-" + std::to_string(next_req_++);
  request["req"] = req;
  if (client_.send(request, deadline) != CoordClient::Status::kOk) {
    fail("cannot send " + json::serialize(request) + ": " + client_.error());
    return std::nullopt;
  }
  json::object reply;
  auto is_reply = [&](const json::object& line) {
    const json::value* got = line.if_contains("req");
    if (!got || *got != json::string_view(req)) return false;
    reply = line;
    return true;
  };
  if (!read_until(is_reply, deadline)) return std::nullopt;
  return reply;
}

std::optional<std::uint64_t> Subscriber::sync(std::uint64_t timeout_ms,
                                              SteadyClock::time_point deadline) {
  while (SteadyClock::now() < deadline) {
    auto reply = request({{"op", "sync"}, {"timeout_ms", timeout_ms}}, deadline);
    if (!reply) return std::nullopt;
    if (is_type(*reply, "synced")) return reply->at("seq").to_number<std::uint64_t>();
    if (!is_type(*reply, "error") || reply->at("code") != "sync_timeout") {
      fail("sync was refused: " + json::serialize(*reply));
      return std::nullopt;
    }
    ++sync_timeouts_;
  }
  fail("sync kept timing out until the deadline");
  return std::nullopt;
}

}  // namespace coordd::lossless
