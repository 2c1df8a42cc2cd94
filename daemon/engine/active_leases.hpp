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
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/engine/pointer_table.hpp"
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
  // A LeaseKey's fields without a copy of the id (what leases_ is keyed by).
  struct KeyView {
    RootId root = 0;
    bool claim = false;
    std::string_view id;
    KeyView() = default;
    KeyView(RootId root_in, bool claim_in, std::string_view id_in)
        : root(root_in), claim(claim_in), id(id_in) {}
    KeyView(const LeaseKey& key) : root(key.root), claim(key.claim), id(key.id) {}  // NOLINT
    auto operator<=>(const KeyView&) const = default;
    LeaseKey owned() const { return LeaseKey{root, claim, std::string(id)}; }
  };
  // The files defining a lease other than <lease id>.json: rare (several
  // files naming one id, or a file named otherwise), so kept out of line.
  struct OtherFiles {
    std::map<std::string, std::optional<WallTime>> expires_at;  // by file id
    std::multiset<WallTime> expiries;                           // the parsable ones, for the latest
  };
  // One block per lease, its id inline after the fields (the only copy):
  // memory is per record, and a daemon holds 1M of them (bench/: scale), so
  // a lease with a 13-byte id is one 48-byte malloc chunk (an unordered_map
  // node with a std::string key was 80, and a bucket 8 more).
  static constexpr std::uint32_t kUnarmed = UINT32_MAX;
  struct Lease {
    WallTime own_expires_at{};  // <lease id>.json's, valid when own_has_expiry
    RootId root = 0;
    std::uint32_t slot = kUnarmed;  // its entry in deadlines_ while armed (active)
    bool claim = false;
    bool own_defines = false;  // <lease id>.json (of the lease's kind) defines it
    bool own_has_expiry = false;
    bool has_others = false;    // other files define it too: see others_
    std::uint32_t id_size = 0;  // the id's bytes follow the fields in the block
    bool armed() const { return slot != kUnarmed; }
    bool defined() const { return own_defines || has_others; }
    KeyView key() const {
      return KeyView{root, claim,
                     std::string_view(reinterpret_cast<const char*>(this + 1), id_size)};
    }
    struct Deleter {
      void operator()(Lease* lease) const noexcept;
    };
    static std::unique_ptr<Lease, Deleter> make(KeyView key);
  };
  struct LeaseTraits {
    using Key = KeyView;
    static Key key(const Lease& lease) { return lease.key(); }
    static std::size_t hash(const Key& key);
    using Deleter = Lease::Deleter;
  };
  using Leases = PointerTable<Lease, LeaseTraits>;
  // Active leases by effective expiry, then key (so the order is
  // reproducible): a binary heap of 16-byte entries, each lease knowing its
  // slot (a std::set node was 64). The entry points at the lease's block,
  // which never moves.
  struct Deadline {
    WallTime at;
    Lease* lease;
  };
  static bool earlier(const Deadline& a, const Deadline& b) {
    return a.at != b.at ? a.at < b.at : a.lease->key() < b.lease->key();
  }
  // What a heartbeat or release record points at.
  struct Pointer {
    LeaseKey target;
    std::optional<WallTime> extends_to;  // heartbeats only
  };

  static std::optional<LeaseKey> lease_key_of(const RecordRef& record, const ParsedRecord& parsed);
  static std::optional<LeaseKey> target_of(RootId root, const ParsedRecord& parsed);
  // The lease `record` defines, if any (else null).
  Lease* defined_by(const RecordRef& record) const;
  void define(Lease& lease, const std::string& file_id, std::optional<WallTime> expires_at);
  void undefine(Lease& lease, const std::string& file_id);
  // The file an expiry of the lease is reported on.
  std::string reported_file(const Lease& lease) const;
  // Takes `record` out of the lease it defines. When no file defines that
  // lease any more it is forgotten, reporting its expiry on `record` if it
  // was active and `report` is set; otherwise it is re-evaluated.
  void leave(const RecordRef& record, bool report, WallTime now, std::vector<Expiry>& expired);
  void forget(Lease& lease);
  void arm(Lease& lease, WallTime at);
  void disarm(Lease& lease);
  // Heap order around slot i; each moved entry's lease learns its new slot.
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);
  void place(std::size_t i, const Deadline& deadline);
  std::optional<WallTime> effective_expiry(const Lease& lease) const;
  void drop_pointer(const RecordRef& record, WallTime now, std::vector<Expiry>& expired);
  void reevaluate(const LeaseKey& key, WallTime now, std::vector<Expiry>& expired);
  void reevaluate(Lease& lease, WallTime now, std::vector<Expiry>& expired);

  Leases leases_;
  std::map<LeaseKey, OtherFiles, std::less<>> others_;  // of leases with has_others
  // Files whose lease id differs from their file id (rare), to find their lease.
  std::map<RecordRef, LeaseKey> foreign_owners_;
  std::map<RecordRef, Pointer> heartbeats_;
  std::map<RecordRef, Pointer> releases_;
  std::map<LeaseKey, std::multiset<WallTime>, std::less<>> extensions_;
  std::map<LeaseKey, int, std::less<>> release_count_;
  std::vector<Deadline> deadlines_;
};

}  // namespace coordd
