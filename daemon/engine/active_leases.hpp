// ActiveLeases: which reservations and claims are active at a given wall time.
// A lease is active while now < its effective expiry (max of its expires_at
// and every heartbeat's extended_expires_at naming it) and no release names it.
// Pure logic over an explicit `now`; owned by the Engine on the reactor thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "daemon/engine/record.hpp"
#include "daemon/engine/record_ref.hpp"
#include "proto/event_names.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

// A lease that left the active set while its file still exists.
struct Expiry {
  RecordRef record;
  ExpiryCause cause;
};

struct LeaseState {
  bool active = false;
  std::optional<WallTime> effective_expiry;  // nullopt: no parsable expires_at
};

class ActiveLeases {
 public:
  // A record was added or changed. Reservations (and claims carrying
  // expires_at) become leases; heartbeats extend, releases end the lease they
  // name. Leases that stop being active are appended to `expired`.
  void put(const RecordRef& record, const ParsedRecord& parsed, WallTime now,
           std::vector<Expiry>& expired);

  // A record's file is gone. A removed lease is simply forgotten (its removal
  // is reported as `removed`, never `expired`); a removed heartbeat may end
  // the lease it extended.
  void erase(const RecordRef& record, WallTime now, std::vector<Expiry>& expired);

  // Ends every lease whose effective expiry is <= now.
  void advance(WallTime now, std::vector<Expiry>& expired);

  // The earliest effective expiry among active leases: when to call advance().
  std::optional<WallTime> next_deadline() const;

  // The lease state of a reservation or claim record; nullopt if not a lease.
  std::optional<LeaseState> state_of(const RecordRef& record) const;

  std::size_t active_count() const { return deadlines_.size(); }

 private:
  struct LeaseKey {
    RootId root = 0;
    bool claim = false;
    std::string id;  // the reservation_id / claim_id the lease is known by
    auto operator<=>(const LeaseKey&) const = default;
  };
  struct LeaseKeyHash {
    std::size_t operator()(const LeaseKey& key) const noexcept;  // noexcept: not cached per node
  };
  // One node per lease, the only copy of its id: memory is per record, and a
  // daemon holds 100k of them (bench/: scale), so the node is kept small.
  struct Lease {
    // The record file defining the lease when its id is not the lease's id;
    // null in the usual case, <reservation_id>.json.
    std::unique_ptr<const std::string> other_record_id;
    WallTime expires_at{};  // valid when has_expiry (a parsable expires_at)
    WallTime armed_at{};    // its entry in deadlines_, valid while armed (active)
    bool has_expiry = false;
    bool armed = false;
  };
  using Leases = std::unordered_map<LeaseKey, Lease, LeaseKeyHash>;
  // Active leases by effective expiry (then key, so the order is reproducible);
  // the key lives in its Leases node, which never moves.
  struct Deadline {
    WallTime at;
    const LeaseKey* key;
  };
  struct DeadlineOrder {
    bool operator()(const Deadline& a, const Deadline& b) const {
      return a.at != b.at ? a.at < b.at : *a.key < *b.key;
    }
  };
  // What a heartbeat or release record points at.
  struct Pointer {
    LeaseKey target;
    std::optional<WallTime> extends_to;  // heartbeats only
  };

  static std::optional<LeaseKey> lease_key_of(const RecordRef& record, const ParsedRecord& parsed);
  static std::optional<LeaseKey> target_of(RootId root, const ParsedRecord& parsed);
  static bool is_owner(const LeaseKey& key, const Lease& lease, const RecordRef& record);
  // The lease `record` defines, if it still does.
  Leases::iterator owned_by(const RecordRef& record);
  Leases::const_iterator owned_by(const RecordRef& record) const;
  // Forgets the lease `record` defines, quietly (no expiry).
  void forget_owned(const RecordRef& record);
  void disarm(Leases::iterator it);
  std::optional<WallTime> effective_expiry(const LeaseKey& key, const Lease& lease) const;
  void drop_pointer(const RecordRef& record, WallTime now, std::vector<Expiry>& expired);
  void reevaluate(const LeaseKey& key, WallTime now, std::vector<Expiry>& expired);
  void reevaluate(Leases::iterator it, WallTime now, std::vector<Expiry>& expired);

  Leases leases_;
  // Records whose lease id differs from their file id (rare), to find their lease.
  std::map<RecordRef, LeaseKey> foreign_owners_;
  std::map<RecordRef, Pointer> heartbeats_;
  std::map<RecordRef, Pointer> releases_;
  std::map<LeaseKey, std::multiset<WallTime>> extensions_;
  std::map<LeaseKey, int> release_count_;
  std::set<Deadline, DeadlineOrder> deadlines_;
};

}  // namespace coordd
