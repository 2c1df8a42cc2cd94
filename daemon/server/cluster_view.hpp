// ClusterView: what the server asks of the swarm connection above it
// (daemon/cluster/), without depending on it: status and the cluster-wide
// sync barrier. Reactor thread only.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>

#include "proto/status.hpp"

namespace coordd {

class ClusterView {
 public:
  virtual ~ClusterView() = default;
  // status.cluster
  virtual boost::json::object status() const = 0;
  // Runs `done` once every change any host had published before this call
  // has been applied here (ok), or with cluster_unavailable / sync_timeout.
  // Returns an id for cancel_barrier.
  virtual std::uint64_t barrier(std::chrono::milliseconds timeout,
                                std::function<void(Status)> done) = 0;
  // Drops a barrier without running its `done`; unknown ids are ignored.
  virtual void cancel_barrier(std::uint64_t id) = 0;
};

}  // namespace coordd
