#include "bench/nats_probe.hpp"

#include <nats/nats.h>

#include <charconv>
#include <chrono>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "tests/support/poll_until.hpp"

namespace coordd::bench {

namespace {

std::string status_text(natsStatus status) {
  std::string text = natsStatus_GetText(status);
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0' && text != last) text += std::string(": ") + last;
  return text;
}

void check(natsStatus status, const std::string& what) {
  if (status != NATS_OK) throw std::runtime_error(what + ": " + status_text(status));
}

}  // namespace

struct NatsPeer::Impl {
  natsOptions* options = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::atomic<std::size_t> acks{0};
  std::atomic<std::size_t> ack_errors{0};

  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    if (ack != nullptr && error == nullptr) {
      self->acks.fetch_add(1, std::memory_order_relaxed);
    } else {
      self->ack_errors.fetch_add(1, std::memory_order_relaxed);
    }
    natsMsg_Destroy(msg);
  }

  ~Impl() {
    if (nc) natsConnection_Close(nc);
    if (js) jsCtx_Destroy(js);
    if (nc) natsConnection_Destroy(nc);
    if (options) natsOptions_Destroy(options);
  }
};

NatsPeer::NatsPeer(const std::string& url, const std::string& name, bool send_asap)
    : impl_(std::make_unique<Impl>()) {
  Impl& p = *impl_;
  check(natsOptions_Create(&p.options), "natsOptions_Create");
  check(natsOptions_SetURL(p.options, url.c_str()), "natsOptions_SetURL");
  check(natsOptions_SetName(p.options, name.c_str()), "natsOptions_SetName");
  // The same link as coordd's bridge: this server only.
  check(natsOptions_SetIgnoreDiscoveredServers(p.options, true), "ignore discovered servers");
  check(natsOptions_SetNoRandomize(p.options, true), "natsOptions_SetNoRandomize");
  check(natsOptions_SetTimeout(p.options, 2000), "natsOptions_SetTimeout");
  if (send_asap) check(natsOptions_SetSendAsap(p.options, true), "natsOptions_SetSendAsap");
  check(natsConnection_Connect(&p.nc, p.options), "connect to " + url);
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = 2000;
  js_options.PublishAsync.MaxPending = 4096;  // as coordd's bridge
  js_options.PublishAsync.AckHandler = Impl::on_ack;
  js_options.PublishAsync.AckHandlerClosure = &p;
  check(natsConnection_JetStream(&p.js, p.nc, &js_options), "natsConnection_JetStream");
}

NatsPeer::~NatsPeer() = default;

namespace {

struct Receiver {
  NatsProbe::Impl* probe = nullptr;
  std::size_t index = 0;
  natsSubscription* sub = nullptr;
  std::atomic<bool> probed{false};
};

}  // namespace

struct NatsProbe::Impl {
  std::vector<NatsPeer*> senders;
  ProbeTarget target;
  LatencyLog& log;
  std::string prefix;                // subjects: prefix + index, probes: prefix + "p" + k
  std::vector<std::string> fillers;  // one per sender
  std::vector<std::unique_ptr<Receiver>> receivers;
  std::size_t acks_before = 0;
  std::size_t errors_before = 0;

  Impl(std::vector<NatsPeer*> senders, ProbeTarget target, LatencyLog& log)
      : senders(std::move(senders)),
        target(std::move(target)),
        log(log),
        fillers(this->senders.size()) {}

  std::size_t acks() const {
    std::size_t n = 0;
    for (NatsPeer* peer : senders) n += peer->impl().acks.load();
    return n;
  }
  std::size_t ack_errors() const {
    std::size_t n = 0;
    for (NatsPeer* peer : senders) n += peer->impl().ack_errors.load();
    return n;
  }

  static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    std::int64_t now = mono_now_ns();
    auto* receiver = static_cast<Receiver*>(closure);
    std::string_view subject = natsMsg_GetSubject(msg);
    const std::string& prefix = receiver->probe->prefix;
    if (subject.starts_with(prefix)) {
      subject.remove_prefix(prefix.size());
      if (subject.starts_with("p")) {
        receiver->probed.store(true, std::memory_order_release);
      } else {
        std::size_t index = 0;
        auto [end, ec] = std::from_chars(subject.data(), subject.data() + subject.size(), index);
        if (ec == std::errc() && end == subject.data() + subject.size()) {
          receiver->probe->log.mark_arrived(receiver->index, index, now);
        }
      }
    }
    natsMsg_Destroy(msg);
  }

  void publish(std::size_t sender, const std::string& subject, std::string_view data) {
    NatsPeer::Impl& p = senders.at(sender)->impl();
    if (!target.jetstream) {
      check(natsConnection_Publish(p.nc, subject.c_str(), data.data(), int(data.size())),
            "publish");
      return;
    }
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), int(data.size()));
    if (s == NATS_OK) s = js_PublishMsgAsync(p.js, &msg, nullptr);
    if (msg != nullptr) natsMsg_Destroy(msg);
    check(s, "js_PublishMsgAsync");
  }
};

NatsProbe::NatsProbe(std::vector<NatsPeer*> senders, std::vector<NatsPeer*> receivers,
                     ProbeTarget target, LatencyLog& log)
    : impl_(std::make_unique<Impl>(std::move(senders), std::move(target), log)) {
  Impl& probe = *impl_;
  if (probe.senders.empty()) throw std::invalid_argument("a NATS probe needs a sender");
  NatsPeer& sender = *probe.senders.front();
  std::string stream = "KV_" + probe.target.bucket;
  if (probe.target.jetstream) {
    probe.prefix = "$KV." + probe.target.bucket + "." + probe.target.tag + ".";
    kvStore* kv = nullptr;
    if (js_KeyValue(&kv, sender.impl().js, probe.target.bucket.c_str()) != NATS_OK) {
      kvConfig config;
      kvConfig_Init(&config);
      config.Bucket = probe.target.bucket.c_str();
      config.History = 1;
      config.Replicas = 3;
      config.StorageType = js_FileStorage;
      check(js_CreateKeyValue(&kv, sender.impl().js, &config), "js_CreateKeyValue");
    }
    kvStore_Destroy(kv);
  } else {
    probe.prefix = probe.target.tag + ".";
  }
  std::string subject = probe.prefix + ">";
  for (NatsPeer* peer : receivers) {
    auto receiver = std::make_unique<Receiver>();
    receiver->probe = &probe;
    receiver->index = probe.receivers.size();
    if (probe.target.jetstream) {
      // The bridge's watch, as nats_bridge.cpp makes it.
      jsSubOptions options;
      jsSubOptions_Init(&options);
      options.Ordered = true;
      options.Stream = stream.c_str();
      options.Config.DeliverPolicy = js_DeliverLastPerSubject;
      options.Config.Heartbeat = std::int64_t(1'000'000'000);
      jsErrCode code = jsErrCode(0);
      check(js_Subscribe(&receiver->sub, peer->impl().js, subject.c_str(), Impl::on_message,
                         receiver.get(), nullptr, &options, &code),
            "js_Subscribe " + subject);
    } else {
      check(natsConnection_Subscribe(&receiver->sub, peer->impl().nc, subject.c_str(),
                                     Impl::on_message, receiver.get()),
            "subscribe " + subject);
      check(natsConnection_Flush(peer->impl().nc), "flush");
    }
    // Unbounded: a slow consumer must slow the run down, not drop samples.
    natsSubscription_SetPendingLimits(receiver->sub, -1, -1);
    probe.receivers.push_back(std::move(receiver));
  }
  // Interest reaches the senders' servers over the routes some time after
  // the subscription: probe from each until every receiver has one.
  auto deadline = support::PollClock::now() + std::chrono::seconds(30);
  for (std::size_t s = 0; s < probe.senders.size(); ++s) {
    for (const auto& receiver : probe.receivers) receiver->probed.store(false);
    probe_from(s, deadline);
  }
  for (NatsPeer* peer : probe.senders) {
    if (probe.target.jetstream) js_PublishAsyncComplete(peer->impl().js, nullptr);
  }
  probe.acks_before = probe.acks();
  probe.errors_before = probe.ack_errors();
}

void NatsProbe::probe_from(std::size_t s, support::PollClock::time_point deadline) {
  Impl& probe = *impl_;
  std::string subject = probe.prefix + ">";
  for (std::size_t k = 0;; ++k) {
    bool all = true;
    for (const auto& receiver : probe.receivers) all = all && receiver->probed.load();
    if (all) break;
    if (support::PollClock::now() > deadline) {
      throw std::runtime_error("a NATS probe on " + subject + " never arrived");
    }
    probe.publish(s, probe.prefix + "p" + std::to_string(s) + "-" + std::to_string(k), "probe");
    if (!probe.target.jetstream) natsConnection_Flush(probe.senders[s]->impl().nc);
    support::poll_until(
        std::min(support::PollClock::now() + std::chrono::milliseconds(100), deadline),
        [&] {
          for (const auto& receiver : probe.receivers) {
            if (!receiver->probed.load()) return false;
          }
          return true;
        },
        std::chrono::milliseconds(1));
  }
}

NatsProbe::~NatsProbe() {
  for (const auto& receiver : impl_->receivers) {
    if (receiver->sub == nullptr) continue;
    natsSubscription_Unsubscribe(receiver->sub);
    natsSubscription_Destroy(receiver->sub);
  }
  // Callbacks in progress hold the closure: let their threads finish.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

void NatsProbe::send(std::size_t sender, std::size_t index, std::size_t bytes) {
  Impl& probe = *impl_;
  std::string& filler = probe.fillers.at(sender);
  if (filler.size() != bytes) filler.assign(bytes, 'x');
  std::string subject = probe.prefix + std::to_string(index);
  probe.log.mark_sent(index, mono_now_ns());
  probe.publish(sender, subject, filler);
}

void NatsProbe::await_acks() {
  if (!impl_->target.jetstream) return;
  for (NatsPeer* peer : impl_->senders) {
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MaxWait = 30'000;
    js_PublishAsyncComplete(peer->impl().js, &options);
  }
}

namespace {

void answer(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  if (const char* reply = natsMsg_GetReply(msg); reply != nullptr && *reply != '\0') {
    natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  }
  natsMsg_Destroy(msg);
}

}  // namespace

std::vector<std::int64_t> request_reply_ns(NatsPeer& requester, NatsPeer& responder,
                                           const std::string& subject, std::size_t count,
                                           std::size_t bytes) {
  natsSubscription* sub = nullptr;
  check(natsConnection_Subscribe(&sub, responder.impl().nc, subject.c_str(), answer, nullptr),
        "subscribe " + subject);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  std::vector<std::int64_t> out;
  std::string payload(bytes, 'x');
  auto request = [&](std::int64_t timeout_ms) {
    natsMsg* reply = nullptr;
    natsStatus s = natsConnection_Request(&reply, requester.impl().nc, subject.c_str(),
                                          payload.data(), int(payload.size()), timeout_ms);
    if (reply != nullptr) natsMsg_Destroy(reply);
    return s;
  };
  try {
    check(natsConnection_Flush(responder.impl().nc), "flush");
    auto deadline = support::PollClock::now() + std::chrono::seconds(30);
    natsStatus s = NATS_TIMEOUT;
    while ((s = request(100)) != NATS_OK) {
      if (support::PollClock::now() > deadline) check(s, "a request on " + subject);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      std::int64_t start = mono_now_ns();
      check(request(5000), "request on " + subject);
      out.push_back(mono_now_ns() - start);
    }
  } catch (...) {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    throw;
  }
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  return out;
}

std::size_t NatsProbe::acks() const { return impl_->acks() - impl_->acks_before; }

std::size_t NatsProbe::ack_errors() const { return impl_->ack_errors() - impl_->errors_before; }

}  // namespace coordd::bench
