#include "daemon/engine/active_leases.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <type_traits>

namespace coordd {
namespace {

std::optional<WallTime> parse_optional(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return parse_timestamp(*text);
}

}  // namespace

std::optional<ActiveLeases::LeaseKey> ActiveLeases::lease_key_of(const RecordRef& record,
                                                                 const ParsedRecord& parsed) {
  if (record.kind == Kind::kReservation) {
    return LeaseKey{record.root, false, parsed.reservation_id.value_or(record.id)};
  }
  // A claim is a lease only while it carries an expiry.
  if (record.kind == Kind::kClaim && parsed.expires_at) {
    return LeaseKey{record.root, true, parsed.claim_id.value_or(record.id)};
  }
  return std::nullopt;
}

std::optional<ActiveLeases::LeaseKey> ActiveLeases::target_of(RootId root,
                                                              const ParsedRecord& parsed) {
  if (parsed.reservation_id) return LeaseKey{root, false, *parsed.reservation_id};
  if (parsed.claim_id) return LeaseKey{root, true, *parsed.claim_id};
  return std::nullopt;
}

std::size_t ActiveLeases::LeaseTraits::hash(const Key& key) {
  std::size_t h = std::hash<std::string_view>()(key.id);
  return h ^ (std::size_t(key.root) * 0x9e3779b97f4a7c15ULL + (key.claim ? 1 : 0));
}

std::unique_ptr<ActiveLeases::Lease, ActiveLeases::Lease::Deleter> ActiveLeases::Lease::make(
    KeyView key) {
  // A reservation_id is any string a record holds; --max-record-bytes (at
  // most 1 GiB) bounds it.
  if (key.id.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("a lease id of 4 GiB or more");
  }
  void* block = ::operator new(sizeof(Lease) + key.id.size());
  std::unique_ptr<Lease, Deleter> lease(new (block) Lease);
  lease->root = key.root;
  lease->claim = key.claim;
  lease->id_size = static_cast<std::uint32_t>(key.id.size());
  std::memcpy(lease.get() + 1, key.id.data(), key.id.size());
  return lease;
}

void ActiveLeases::Lease::Deleter::operator()(Lease* lease) const noexcept {
  static_assert(std::is_trivially_destructible_v<Lease> && sizeof(Lease) == 24);
  ::operator delete(lease);
}

ActiveLeases::Lease* ActiveLeases::defined_by(const RecordRef& record) const {
  if (record.kind != Kind::kReservation && record.kind != Kind::kClaim) return nullptr;
  if (auto foreign = foreign_owners_.find(record); foreign != foreign_owners_.end()) {
    return leases_.find(foreign->second);
  }
  Lease* lease = leases_.find(KeyView{record.root, record.kind == Kind::kClaim, record.id});
  return lease != nullptr && lease->own_defines ? lease : nullptr;
}

void ActiveLeases::define(Lease& lease, const std::string& file_id,
                          std::optional<WallTime> expires_at) {
  if (file_id == lease.key().id) {
    lease.own_defines = true;
    lease.own_has_expiry = expires_at.has_value();
    lease.own_expires_at = expires_at.value_or(WallTime{});
    return;
  }
  undefine(lease, file_id);  // drops the file's previous expiry, if any
  OtherFiles& others = others_[lease.key().owned()];
  lease.has_others = true;
  others.expires_at.emplace(file_id, expires_at);
  if (expires_at) others.expiries.insert(*expires_at);
}

void ActiveLeases::undefine(Lease& lease, const std::string& file_id) {
  if (file_id == lease.key().id) {
    lease.own_defines = false;
    lease.own_has_expiry = false;
    return;
  }
  if (!lease.has_others) return;
  auto others = others_.find(lease.key());
  auto it = others->second.expires_at.find(file_id);
  if (it == others->second.expires_at.end()) return;
  if (it->second) others->second.expiries.erase(others->second.expiries.find(*it->second));
  others->second.expires_at.erase(it);
  if (others->second.expires_at.empty()) {
    others_.erase(others);
    lease.has_others = false;
  }
}

std::string ActiveLeases::reported_file(const Lease& lease) const {
  if (lease.own_defines) return std::string(lease.key().id);
  return others_.find(lease.key())->second.expires_at.begin()->first;
}

void ActiveLeases::place(std::size_t i, const Deadline& deadline) {
  deadlines_[i] = deadline;
  deadline.lease->slot = static_cast<std::uint32_t>(i);
}

void ActiveLeases::sift_up(std::size_t i) {
  Deadline moving = deadlines_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!earlier(moving, deadlines_[parent])) break;
    place(i, deadlines_[parent]);
    i = parent;
  }
  place(i, moving);
}

void ActiveLeases::sift_down(std::size_t i) {
  Deadline moving = deadlines_[i];
  std::size_t n = deadlines_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && earlier(deadlines_[child + 1], deadlines_[child])) ++child;
    if (!earlier(deadlines_[child], moving)) break;
    place(i, deadlines_[child]);
    i = child;
  }
  place(i, moving);
}

void ActiveLeases::arm(Lease& lease, WallTime at) {
  if (deadlines_.size() >= kUnarmed) throw std::length_error("more than 4G active leases");
  deadlines_.push_back(Deadline{at, &lease});
  sift_up(deadlines_.size() - 1);
}

void ActiveLeases::disarm(Lease& lease) {
  if (!lease.armed()) return;
  std::size_t i = lease.slot;
  lease.slot = kUnarmed;
  Deadline last = deadlines_.back();
  deadlines_.pop_back();
  if (i == deadlines_.size()) return;  // it was the last entry
  place(i, last);
  if (i > 0 && earlier(last, deadlines_[(i - 1) / 2])) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

void ActiveLeases::leave(const RecordRef& record, bool report, WallTime now,
                         std::vector<Expiry>& expired) {
  Lease* lease = defined_by(record);
  foreign_owners_.erase(record);
  if (lease == nullptr) return;
  undefine(*lease, record.id);
  if (lease->defined()) {
    reevaluate(*lease, now, expired);
    return;
  }
  if (report && lease->armed()) expired.push_back(Expiry{record, ExpiryCause::kTtl});
  forget(*lease);
}

void ActiveLeases::forget(Lease& lease) {
  disarm(lease);
  if (lease.has_others) others_.erase(others_.find(lease.key()));
  leases_.take(lease.key());
}

void ActiveLeases::put(const RecordRef& record, const ParsedRecord& parsed, WallTime now,
                       std::vector<Expiry>& expired) {
  switch (record.kind) {
    case Kind::kReservation:
    case Kind::kClaim: {
      std::optional<LeaseKey> key = lease_key_of(record, parsed);
      Lease* previous = defined_by(record);
      if (previous != nullptr && (!key || previous->key() != KeyView(*key))) {
        // The file no longer names that lease: the lease ends here unless
        // another file still defines it.
        leave(record, true, now, expired);
      }
      if (!key) return;
      if (key->id != record.id) foreign_owners_.insert_or_assign(record, *key);
      Lease* lease = leases_.find(*key);
      if (lease == nullptr) lease = leases_.put(Lease::make(*key)).first;
      define(*lease, record.id, parse_optional(parsed.expires_at));
      reevaluate(*lease, now, expired);
      return;
    }
    case Kind::kHeartbeat:
    case Kind::kRelease: {
      drop_pointer(record, now, expired);
      std::optional<LeaseKey> target = target_of(record.root, parsed);
      if (!target) return;
      if (record.kind == Kind::kHeartbeat) {
        std::optional<WallTime> ext = parse_optional(parsed.extended_expires_at);
        heartbeats_[record] = Pointer{*target, ext};
        if (ext) extensions_[*target].insert(*ext);
      } else {
        releases_[record] = Pointer{*target, std::nullopt};
        ++release_count_[*target];
      }
      reevaluate(*target, now, expired);
      return;
    }
    default:
      return;
  }
}

void ActiveLeases::erase(const RecordRef& record, WallTime now, std::vector<Expiry>& expired) {
  if (record.kind == Kind::kReservation || record.kind == Kind::kClaim) {
    leave(record, false, now, expired);
    return;
  }
  drop_pointer(record, now, expired);
}

void ActiveLeases::forget_root(RootId root) {
  std::vector<Lease*> of_root_leases;
  for (Lease& lease : leases_) {
    if (lease.root == root) of_root_leases.push_back(&lease);
  }
  for (Lease* lease : of_root_leases) forget(*lease);
  auto of_root = [root](const auto& entry) { return entry.first.root == root; };
  std::erase_if(foreign_owners_, of_root);
  std::erase_if(heartbeats_, of_root);
  std::erase_if(releases_, of_root);
  std::erase_if(extensions_, of_root);
  std::erase_if(release_count_, of_root);
}

void ActiveLeases::drop_pointer(const RecordRef& record, WallTime now,
                                std::vector<Expiry>& expired) {
  if (auto hb = heartbeats_.find(record); hb != heartbeats_.end()) {
    Pointer pointer = hb->second;
    heartbeats_.erase(hb);
    if (pointer.extends_to) {
      auto& set = extensions_[pointer.target];
      set.erase(set.find(*pointer.extends_to));
      if (set.empty()) extensions_.erase(pointer.target);
    }
    reevaluate(pointer.target, now, expired);
  }
  if (auto rel = releases_.find(record); rel != releases_.end()) {
    Pointer pointer = rel->second;
    releases_.erase(rel);
    if (--release_count_[pointer.target] <= 0) release_count_.erase(pointer.target);
    reevaluate(pointer.target, now, expired);
  }
}

std::optional<WallTime> ActiveLeases::effective_expiry(const Lease& lease) const {
  std::optional<WallTime> expiry;
  if (lease.own_defines && lease.own_has_expiry) expiry = lease.own_expires_at;
  if (lease.has_others) {
    const OtherFiles& others = others_.find(lease.key())->second;
    if (!others.expiries.empty()) {
      expiry = std::max(expiry.value_or(WallTime::min()), *others.expiries.rbegin());
    }
  }
  // A heartbeat extends a lease; it cannot make one with no expiry active.
  if (!expiry) return std::nullopt;
  if (auto ext = extensions_.find(lease.key()); ext != extensions_.end() && !ext->second.empty()) {
    expiry = std::max(*expiry, *ext->second.rbegin());
  }
  return expiry;
}

void ActiveLeases::reevaluate(const LeaseKey& key, WallTime now, std::vector<Expiry>& expired) {
  if (Lease* lease = leases_.find(key)) reevaluate(*lease, now, expired);
}

void ActiveLeases::reevaluate(Lease& lease, WallTime now, std::vector<Expiry>& expired) {
  bool released = release_count_.find(lease.key()) != release_count_.end();
  std::optional<WallTime> expiry = effective_expiry(lease);
  bool active = !released && expiry && now < *expiry;
  bool was_active = lease.armed();

  disarm(lease);
  if (active) {
    arm(lease, *expiry);
  } else if (was_active) {
    expired.push_back(Expiry{RecordRef{lease.root, lease.claim ? Kind::kClaim : Kind::kReservation,
                                       reported_file(lease)},
                             released ? ExpiryCause::kReleased : ExpiryCause::kTtl});
  }
}

void ActiveLeases::advance(WallTime now, std::vector<Expiry>& expired) {
  while (!deadlines_.empty() && deadlines_.front().at <= now) {
    reevaluate(*deadlines_.front().lease, now, expired);
  }
}

void ActiveLeases::reserve_more(std::size_t n) {
  leases_.reserve(leases_.size() + n);
  deadlines_.reserve(deadlines_.size() + n);
}

std::optional<WallTime> ActiveLeases::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.front().at;
}

std::optional<LeaseState> ActiveLeases::state_of(const RecordRef& record) const {
  const Lease* lease = defined_by(record);
  if (lease == nullptr) return std::nullopt;
  return LeaseState{lease->armed(), effective_expiry(*lease)};
}

}  // namespace coordd
