// ActiveLeases: which reservations and claims are active at a given wall time.
// A lease is named by its reservation_id / claim_id and defined by every
// record file carrying that id. It is active while now < its effective expiry
// (the latest expires_at among its files and extended_expires_at among the
// heartbeats naming it) and no release names it. Pure logic over an explicit
// `now`; owned by the Engine on the reactor thread.
#pragma once

#include <cstdint>
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

// A lease that left the active set while a file defining it still exists,
// reported on that file (see ActiveLeases::put for which one).
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
  // expires_at) define leases; heartbeats extend, releases end the lease they
  // name. Leases that stop being active are appended to `expired`, once each,
  // reported on <lease id>.json when that file defines the lease, else on the
  // defining file with the smallest id. A file that stops defining an active
  // lease no other file defines (a claim rewritten without expires_at, a
  // reservation_id changed) reports that lease's expiry (cause ttl) itself.
  void put(const RecordRef& record, const ParsedRecord& parsed, WallTime now,
           std::vector<Expiry>& expired);

  // A record's file is gone. A lease no other file defines is forgotten
  // quietly (its removal is reported as `removed`, never `expired`); one that
  // others still define lives on with their expiry, and may end by it. A
  // removed heartbeat may end the lease it extended.
  void erase(const RecordRef& record, WallTime now, std::vector<Expiry>& expired);

  // Forgets every lease, heartbeat and release of `root`, quietly (an
  // unwatched root reports its records as `removed`, nothing expires).
  void forget_root(RootId root);

  // Ends every lease whose effective expiry is <= now.
  void advance(WallTime now, std::vector<Expiry>& expired);

  // The earliest effective expiry among active leases: when to call advance().
  std::optional<WallTime> next_deadline() const;

  // The state of the lease a reservation or claim record defines (shared by
  // every file defining it); nullopt if it defines none.
  std::optional<LeaseState> state_of(const RecordRef& record) const;

  std::size_t active_count() const { return deadlines_.size(); }

  // Room for `n` more leases without rehashing (a scan of that many
  // reservations or claims).
  void reserve_more(std::size_t n);

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
  // The files defining a lease other than <lease id>.json: rare (several
  // files naming one id, or a file named otherwise), so kept out of line.
  struct OtherFiles {
    std::map<std::string, std::optional<WallTime>> expires_at;  // by file id
    std::multiset<WallTime> expiries;                           // the parsable ones, for the latest
  };
  // One node per lease, the only copy of its id: memory is per record, and a
  // daemon holds 100k of them (bench/: scale), so the node is kept small.
  static constexpr std::uint32_t kUnarmed = UINT32_MAX;
  struct Lease {
    std::unique_ptr<OtherFiles> others;  // null in the usual case
    WallTime own_expires_at{};           // <lease id>.json's, valid when own_has_expiry
    std::uint32_t slot = kUnarmed;       // its entry in deadlines_ while armed (active)
    bool own_defines = false;            // <lease id>.json (of the lease's kind) defines it
    bool own_has_expiry = false;
    bool armed() const { return slot != kUnarmed; }
    bool defined() const { return own_defines || (others && !others->expires_at.empty()); }
  };
  using Leases = std::unordered_map<LeaseKey, Lease, LeaseKeyHash>;
  // Active leases by effective expiry, then key (so the order is
  // reproducible): a binary heap of 16-byte entries, each lease knowing its
  // slot (a std::set node was 64). The entry points at the lease's node in
  // leases_, which never moves.
  struct Deadline {
    WallTime at;
    Leases::value_type* lease;
  };
  static bool earlier(const Deadline& a, const Deadline& b) {
    return a.at != b.at ? a.at < b.at : a.lease->first < b.lease->first;
  }
  // What a heartbeat or release record points at.
  struct Pointer {
    LeaseKey target;
    std::optional<WallTime> extends_to;  // heartbeats only
  };

  static std::optional<LeaseKey> lease_key_of(const RecordRef& record, const ParsedRecord& parsed);
  static std::optional<LeaseKey> target_of(RootId root, const ParsedRecord& parsed);
  // The lease `record` defines, if any.
  Leases::iterator defined_by(const RecordRef& record);
  Leases::const_iterator defined_by(const RecordRef& record) const;
  static void define(const LeaseKey& key, Lease& lease, const std::string& file_id,
                     std::optional<WallTime> expires_at);
  static void undefine(const LeaseKey& key, Lease& lease, const std::string& file_id);
  // The file an expiry of the lease is reported on.
  static const std::string& reported_file(const LeaseKey& key, const Lease& lease);
  // Takes `record` out of the lease it defines. When no file defines that
  // lease any more it is forgotten, reporting its expiry on `record` if it
  // was active and `report` is set; otherwise it is re-evaluated.
  void leave(const RecordRef& record, bool report, WallTime now, std::vector<Expiry>& expired);
  void arm(Leases::iterator it, WallTime at);
  void disarm(Leases::iterator it);
  // Heap order around slot i; each moved entry's lease learns its new slot.
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);
  void place(std::size_t i, const Deadline& deadline);
  std::optional<WallTime> effective_expiry(const LeaseKey& key, const Lease& lease) const;
  void drop_pointer(const RecordRef& record, WallTime now, std::vector<Expiry>& expired);
  void reevaluate(const LeaseKey& key, WallTime now, std::vector<Expiry>& expired);
  void reevaluate(Leases::iterator it, WallTime now, std::vector<Expiry>& expired);

  Leases leases_;
  // Files whose lease id differs from their file id (rare), to find their lease.
  std::map<RecordRef, LeaseKey> foreign_owners_;
  std::map<RecordRef, Pointer> heartbeats_;
  std::map<RecordRef, Pointer> releases_;
  std::map<LeaseKey, std::multiset<WallTime>> extensions_;
  std::map<LeaseKey, int> release_count_;
  std::vector<Deadline> deadlines_;
};

}  // namespace coordd
