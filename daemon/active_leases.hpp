// ActiveLeases: which reservations and claims are active at a given wall time.
// A lease is active while now < its effective expiry (max of its expires_at
// and every heartbeat's extended_expires_at naming it) and no release names it.
// Pure logic over an explicit `now`; owned by the Engine on the reactor thread.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "daemon/record.hpp"
#include "daemon/record_ref.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

enum class ExpiryCause { kTtl, kReleased };

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
  struct Lease {
    std::string record_id;  // the file id
    std::optional<WallTime> expires_at;
    std::optional<WallTime> armed;  // its entry in deadlines_ while active
  };
  // What a heartbeat or release record points at.
  struct Pointer {
    LeaseKey target;
    std::optional<WallTime> extends_to;  // heartbeats only
  };

  static std::optional<LeaseKey> lease_key_of(const RecordRef& record, const ParsedRecord& parsed);
  static std::optional<LeaseKey> target_of(RootId root, const ParsedRecord& parsed);
  std::optional<WallTime> effective_expiry(const LeaseKey& key, const Lease& lease) const;
  void drop_pointer(const RecordRef& record, WallTime now, std::vector<Expiry>& expired);
  void reevaluate(const LeaseKey& key, WallTime now, std::vector<Expiry>& expired);

  std::map<LeaseKey, Lease> leases_;
  std::map<RecordRef, LeaseKey> lease_of_record_;
  std::map<RecordRef, Pointer> heartbeats_;
  std::map<RecordRef, Pointer> releases_;
  std::map<LeaseKey, std::multiset<WallTime>> extensions_;
  std::map<LeaseKey, int> release_count_;
  std::set<std::pair<WallTime, LeaseKey>> deadlines_;
};

}  // namespace coordd
