#include "daemon/active_leases.hpp"

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

void ActiveLeases::put(const RecordRef& record, const ParsedRecord& parsed, WallTime now,
                       std::vector<Expiry>& expired) {
  switch (record.kind) {
    case Kind::kReservation:
    case Kind::kClaim: {
      std::optional<LeaseKey> key = lease_key_of(record, parsed);
      auto previous = lease_of_record_.find(record);
      if (previous != lease_of_record_.end() && (!key || previous->second != *key)) {
        // The record no longer names the same lease: forget the old one quietly.
        LeaseKey old = previous->second;
        lease_of_record_.erase(previous);
        auto it = leases_.find(old);
        if (it != leases_.end()) {
          if (it->second.armed) deadlines_.erase({*it->second.armed, old});
          leases_.erase(it);
        }
      }
      if (!key) return;
      lease_of_record_[record] = *key;
      Lease& lease = leases_[*key];
      lease.record_id = record.id;
      lease.expires_at = parse_optional(parsed.expires_at);
      reevaluate(*key, now, expired);
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
  auto owned = lease_of_record_.find(record);
  if (owned != lease_of_record_.end()) {
    LeaseKey key = owned->second;
    lease_of_record_.erase(owned);
    auto it = leases_.find(key);
    if (it != leases_.end() && it->second.record_id == record.id) {
      if (it->second.armed) deadlines_.erase({*it->second.armed, key});
      leases_.erase(it);
    }
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
  if (!lease.expires_at) return std::nullopt;
  WallTime expiry = *lease.expires_at;
  if (auto ext = extensions_.find(key); ext != extensions_.end() && !ext->second.empty()) {
    expiry = std::max(expiry, *ext->second.rbegin());
  }
  return expiry;
}

void ActiveLeases::reevaluate(const LeaseKey& key, WallTime now, std::vector<Expiry>& expired) {
  auto it = leases_.find(key);
  if (it == leases_.end()) return;
  Lease& lease = it->second;
  bool released = release_count_.contains(key);
  std::optional<WallTime> expiry = effective_expiry(key, lease);
  bool active = !released && expiry && now < *expiry;
  bool was_active = lease.armed.has_value();

  if (was_active) deadlines_.erase({*lease.armed, key});
  lease.armed.reset();
  if (active) {
    lease.armed = *expiry;
    deadlines_.insert({*expiry, key});
  } else if (was_active) {
    expired.push_back(Expiry{RecordRef{key.root, key.claim ? Kind::kClaim : Kind::kReservation,
                                       lease.record_id},
                             released ? ExpiryCause::kReleased : ExpiryCause::kTtl});
  }
}

void ActiveLeases::advance(WallTime now, std::vector<Expiry>& expired) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    LeaseKey key = deadlines_.begin()->second;
    reevaluate(key, now, expired);
  }
}

std::optional<WallTime> ActiveLeases::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

std::optional<LeaseState> ActiveLeases::state_of(const RecordRef& record) const {
  auto owned = lease_of_record_.find(record);
  if (owned == lease_of_record_.end()) return std::nullopt;
  auto it = leases_.find(owned->second);
  if (it == leases_.end() || it->second.record_id != record.id) return std::nullopt;
  return LeaseState{it->second.armed.has_value(), effective_expiry(it->first, it->second)};
}

}  // namespace coordd
