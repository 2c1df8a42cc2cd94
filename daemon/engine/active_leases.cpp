#include "daemon/engine/active_leases.hpp"

#include <algorithm>
#include <stdexcept>

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

ActiveLeases::Leases::const_iterator ActiveLeases::defined_by(const RecordRef& record) const {
  if (record.kind != Kind::kReservation && record.kind != Kind::kClaim) return leases_.end();
  if (auto foreign = foreign_owners_.find(record); foreign != foreign_owners_.end()) {
    return leases_.find(foreign->second);
  }
  auto it = leases_.find(LeaseKey{record.root, record.kind == Kind::kClaim, record.id});
  return it != leases_.end() && it->second.own_defines ? it : leases_.end();
}

ActiveLeases::Leases::iterator ActiveLeases::defined_by(const RecordRef& record) {
  auto it = static_cast<const ActiveLeases*>(this)->defined_by(record);
  return it == leases_.cend() ? leases_.end()
                              : leases_.erase(it, it);  // const_iterator -> iterator
}

void ActiveLeases::define(const LeaseKey& key, Lease& lease, const std::string& file_id,
                          std::optional<WallTime> expires_at) {
  if (file_id == key.id) {
    lease.own_defines = true;
    lease.own_has_expiry = expires_at.has_value();
    lease.own_expires_at = expires_at.value_or(WallTime{});
    return;
  }
  undefine(key, lease, file_id);  // drops the file's previous expiry, if any
  if (!lease.others) lease.others = std::make_unique<OtherFiles>();
  lease.others->expires_at.emplace(file_id, expires_at);
  if (expires_at) lease.others->expiries.insert(*expires_at);
}

void ActiveLeases::undefine(const LeaseKey& key, Lease& lease, const std::string& file_id) {
  if (file_id == key.id) {
    lease.own_defines = false;
    lease.own_has_expiry = false;
    return;
  }
  if (!lease.others) return;
  auto it = lease.others->expires_at.find(file_id);
  if (it == lease.others->expires_at.end()) return;
  if (it->second) lease.others->expiries.erase(lease.others->expiries.find(*it->second));
  lease.others->expires_at.erase(it);
  if (lease.others->expires_at.empty()) lease.others.reset();
}

const std::string& ActiveLeases::reported_file(const LeaseKey& key, const Lease& lease) {
  return lease.own_defines ? key.id : lease.others->expires_at.begin()->first;
}

void ActiveLeases::place(std::size_t i, const Deadline& deadline) {
  deadlines_[i] = deadline;
  deadline.lease->second.slot = static_cast<std::uint32_t>(i);
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

void ActiveLeases::arm(Leases::iterator it, WallTime at) {
  if (deadlines_.size() >= kUnarmed) throw std::length_error("more than 4G active leases");
  deadlines_.push_back(Deadline{at, &*it});
  sift_up(deadlines_.size() - 1);
}

void ActiveLeases::disarm(Leases::iterator it) {
  if (!it->second.armed()) return;
  std::size_t i = it->second.slot;
  it->second.slot = kUnarmed;
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
  auto it = defined_by(record);
  foreign_owners_.erase(record);
  if (it == leases_.end()) return;
  undefine(it->first, it->second, record.id);
  if (it->second.defined()) {
    reevaluate(it, now, expired);
    return;
  }
  if (report && it->second.armed()) expired.push_back(Expiry{record, ExpiryCause::kTtl});
  disarm(it);
  leases_.erase(it);
}

void ActiveLeases::put(const RecordRef& record, const ParsedRecord& parsed, WallTime now,
                       std::vector<Expiry>& expired) {
  switch (record.kind) {
    case Kind::kReservation:
    case Kind::kClaim: {
      std::optional<LeaseKey> key = lease_key_of(record, parsed);
      auto previous = defined_by(record);
      if (previous != leases_.end() && (!key || previous->first != *key)) {
        // The file no longer names that lease: the lease ends here unless
        // another file still defines it.
        leave(record, true, now, expired);
      }
      if (!key) return;
      if (key->id != record.id) foreign_owners_.insert_or_assign(record, *key);
      auto it = leases_.try_emplace(std::move(*key)).first;
      define(it->first, it->second, record.id, parse_optional(parsed.expires_at));
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
    leave(record, false, now, expired);
    return;
  }
  drop_pointer(record, now, expired);
}

void ActiveLeases::forget_root(RootId root) {
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->first.root != root) {
      ++it;
      continue;
    }
    disarm(it);
    it = leases_.erase(it);
  }
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

std::optional<WallTime> ActiveLeases::effective_expiry(const LeaseKey& key,
                                                       const Lease& lease) const {
  std::optional<WallTime> expiry;
  if (lease.own_defines && lease.own_has_expiry) expiry = lease.own_expires_at;
  if (lease.others && !lease.others->expiries.empty()) {
    expiry = std::max(expiry.value_or(WallTime::min()), *lease.others->expiries.rbegin());
  }
  // A heartbeat extends a lease; it cannot make one with no expiry active.
  if (!expiry) return std::nullopt;
  if (auto ext = extensions_.find(key); ext != extensions_.end() && !ext->second.empty()) {
    expiry = std::max(*expiry, *ext->second.rbegin());
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
  bool was_active = lease.armed();

  disarm(it);
  if (active) {
    arm(it, *expiry);
  } else if (was_active) {
    expired.push_back(
        Expiry{RecordRef{it->first.root, it->first.claim ? Kind::kClaim : Kind::kReservation,
                         reported_file(it->first, lease)},
               released ? ExpiryCause::kReleased : ExpiryCause::kTtl});
  }
}

void ActiveLeases::advance(WallTime now, std::vector<Expiry>& expired) {
  while (!deadlines_.empty() && deadlines_.front().at <= now) {
    reevaluate(leases_.find(deadlines_.front().lease->first), now, expired);
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
  auto it = defined_by(record);
  if (it == leases_.end()) return std::nullopt;
  return LeaseState{it->second.armed(), effective_expiry(it->first, it->second)};
}

}  // namespace coordd
