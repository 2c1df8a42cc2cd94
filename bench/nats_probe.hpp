// The swarm benchmark's floor: what NATS itself costs on the same cluster,
// with no coordd in the way, through the same libnats calls coordd's bridge
// makes. NatsPeer is one connection to one server (server discovery off, so
// it stays on that server); a NatsProbe sends numbered messages on one peer
// and times their arrival on others:
//   - core: plain pub/sub (natsConnection_Publish -> an async subscription),
//     the transport alone;
//   - jetstream: js_PublishMsgAsync into a KV bucket's stream -> an ordered
//     push consumer (DeliverLastPerSubject, 1 s heartbeats), exactly the
//     bridge's publish and watch: the stream's quorum write included.
// and request_reply_ns times core request/reply between two peers (the
// floor of a message round trip between agents on two hosts).
// Arrival times are read with CLOCK_MONOTONIC as nats.c's delivery thread
// hands over the message. Main thread drives; callbacks run on nats.c's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/latency.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::bench {

class NatsPeer {
 public:
  // Connects to `url` alone; throws std::runtime_error when it cannot.
  // Like coordd's bridge, nats.c's defaults buffer what is published and
  // leave it to the connection's flusher thread (which sleeps 1 ms before
  // each flush); `send_asap` (natsOptions_SetSendAsap) writes each at once.
  explicit NatsPeer(const std::string& url, const std::string& name, bool send_asap = false);
  ~NatsPeer();
  NatsPeer(const NatsPeer&) = delete;
  NatsPeer& operator=(const NatsPeer&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Where messages go: core subjects, or keys of a KV bucket's stream.
struct ProbeTarget {
  bool jetstream = false;
  std::string bucket;  // jetstream: the KV bucket (made when missing, 3 replicas)
  std::string tag;     // the subject (core) or key prefix (jetstream) of this probe
};

class NatsProbe {
 public:
  // Subscribes every receiver to the target's subjects and waits (30 s at
  // most, else throws) until a message from each sender reaches them all.
  // `log` gets one receiver per entry of `receivers`, one message per index.
  NatsProbe(std::vector<NatsPeer*> senders, std::vector<NatsPeer*> receivers, ProbeTarget target,
            LatencyLog& log);
  ~NatsProbe();
  NatsProbe(const NatsProbe&) = delete;
  NatsProbe& operator=(const NatsProbe&) = delete;

  // Sends message `index` (`bytes` long) from senders[sender] and marks it
  // sent in the log. One thread per sender at most.
  void send(std::size_t sender, std::size_t index, std::size_t bytes);
  // JetStream: waits until every send so far was acknowledged (or 30 s).
  void await_acks();
  std::size_t acks() const;
  std::size_t ack_errors() const;

  struct Impl;

 private:
  void probe_from(std::size_t sender, support::PollClock::time_point deadline);

  std::unique_ptr<Impl> impl_;
};

// The round-trip floor: `responder` answers every request on `subject` (an
// async subscription publishing the request's payload back to its reply
// subject, on nats.c's delivery thread); `requester` sends `count` requests
// of `bytes` bytes one at a time (natsConnection_Request) and returns each
// round trip in ns, from just before the request to its reply handed over.
// First waits (30 s at most, else throws) until a request is answered: the
// responder's interest must reach the requester's server over the routes.
std::vector<std::int64_t> request_reply_ns(NatsPeer& requester, NatsPeer& responder,
                                           const std::string& subject, std::size_t count,
                                           std::size_t bytes);

}  // namespace coordd::bench
