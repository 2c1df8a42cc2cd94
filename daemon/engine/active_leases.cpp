#include "daemon/engine/active_leases.hpp"

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

std::size_t ActiveLeases::LeaseKeyHash::operator()(const LeaseKey& key) const noexcept {
  std::size_t h = std::hash<std::string>()(key.id);
  return h ^ (std::size_t(key.root) * 0x9e3779b97f4a7c15ULL + (key.claim ? 1 : 0));
}

bool ActiveLeases::is_owner(const LeaseKey& key, const Lease& lease, const RecordRef& record) {
  const std::string& owner = lease.other_record_id ? *lease.other_record_id : key.id;
  return owner == record.id && key.root == record.root &&
         key.claim == (record.kind == Kind::kClaim);
}

ActiveLeases::Leases::const_iterator ActiveLeases::owned_by(const RecordRef& record) const {
  if (record.kind != Kind::kReservation && record.kind != Kind::kClaim) return leases_.end();
  auto foreign = foreign_owners_.find(record);
  auto it = foreign != foreign_owners_.end()
                ? leases_.find(foreign->second)
                : leases_.find(LeaseKey{record.root, record.kind == Kind::kClaim, record.id});
  return it != leases_.end() && is_owner(it->first, it->second, record) ? it : leases_.end();
}

ActiveLeases::Leases::iterator ActiveLeases::owned_by(const RecordRef& record) {
  auto it = static_cast<const ActiveLeases*>(this)->owned_by(record);
  return it == leases_.cend() ? leases_.end()
                              : leases_.erase(it, it);  // const_iterator -> iterator
}

void ActiveLeases::disarm(Leases::iterator it) {
  if (it->second.armed) deadlines_.erase(Deadline{it->second.armed_at, &it->first});
  it->second.armed = false;
}

void ActiveLeases::forget_owned(const RecordRef& record) {
  auto it = owned_by(record);
  foreign_owners_.erase(record);
  if (it == leases_.end()) return;
  disarm(it);
  leases_.erase(it);
}

void ActiveLeases::put(const RecordRef& record, const ParsedRecord& parsed, WallTime now,
                       std::vector<Expiry>& expired) {
  switch (record.kind) {
    case Kind::kReservation:
    case Kind::kClaim: {
      std::optional<LeaseKey> key = lease_key_of(record, parsed);
      bool foreign = key && key->id != record.id;
      // Usually the record is <lease id>.json and named no other lease
      // before: then the one lookup below is all it takes.
      if (!key || foreign || foreign_owners_.contains(record)) {
        auto previous = owned_by(record);
        if (previous != leases_.end() && (!key || previous->first != *key)) {
          // The record no longer names the same lease: forget the old one quietly.
          forget_owned(record);
        }
        foreign_owners_.erase(record);
        if (!key) return;
        if (foreign) foreign_owners_.emplace(record, *key);
      }
      // A lease another record defined is taken over.
      auto it = leases_.try_emplace(std::move(*key)).first;
      Lease& lease = it->second;
      lease.other_record_id = foreign ? std::make_unique<const std::string>(record.id) : nullptr;
      std::optional<WallTime> expires_at = parse_optional(parsed.expires_at);
      lease.has_expiry = expires_at.has_value();
      lease.expires_at = expires_at.value_or(WallTime{});
      reevaluate(it, now, expired);
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
    forget_owned(record);
    return;
  }
  drop_pointer(record, now, expired);
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

std::optional<WallTime> ActiveLeases::effective_expiry(const LeaseKey& key,
                                                       const Lease& lease) const {
  if (!lease.has_expiry) return std::nullopt;
  WallTime expiry = lease.expires_at;
  if (auto ext = extensions_.find(key); ext != extensions_.end() && !ext->second.empty()) {
    expiry = std::max(expiry, *ext->second.rbegin());
  }
  return expiry;
}

void ActiveLeases::reevaluate(const LeaseKey& key, WallTime now, std::vector<Expiry>& expired) {
  auto it = leases_.find(key);
  if (it != leases_.end()) reevaluate(it, now, expired);
}

void ActiveLeases::reevaluate(Leases::iterator it, WallTime now, std::vector<Expiry>& expired) {
  Lease& lease = it->second;
  bool released = release_count_.contains(it->first);
  std::optional<WallTime> expiry = effective_expiry(it->first, lease);
  bool active = !released && expiry && now < *expiry;
  bool was_active = lease.armed;

  disarm(it);
  if (active) {
    lease.armed = true;
    lease.armed_at = *expiry;
    deadlines_.insert(Deadline{*expiry, &it->first});
  } else if (was_active) {
    const std::string& record_id = lease.other_record_id ? *lease.other_record_id : it->first.id;
    expired.push_back(Expiry{
        RecordRef{it->first.root, it->first.claim ? Kind::kClaim : Kind::kReservation, record_id},
        released ? ExpiryCause::kReleased : ExpiryCause::kTtl});
  }
}

void ActiveLeases::advance(WallTime now, std::vector<Expiry>& expired) {
  while (!deadlines_.empty() && deadlines_.begin()->at <= now) {
    LeaseKey key = *deadlines_.begin()->key;
    reevaluate(key, now, expired);
  }
}

std::optional<WallTime> ActiveLeases::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->at;
}

std::optional<LeaseState> ActiveLeases::state_of(const RecordRef& record) const {
  auto it = owned_by(record);
  if (it == leases_.end()) return std::nullopt;
  return LeaseState{it->second.armed, effective_expiry(it->first, it->second)};
}

}  // namespace coordd
