#include "client/watch_view.hpp"

#include <array>
#include <chrono>
#include <vector>

#include "proto/event_names.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

WallTime wall_now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

const json::object& data_of(const json::object& event) {
  static const json::object empty;
  const json::value* data = event.if_contains("data");
  return data && data->is_object() ? data->get_object() : empty;
}

std::string_view string_of(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value && value->is_string() ? std::string_view(value->get_string()) : std::string_view();
}

}  // namespace

bool is_lease(Kind kind, const json::object& data) {
  return kind == Kind::kReservation || (kind == Kind::kClaim && data.contains("expires_at"));
}

bool expires_after(const json::object& data, WallTime now) {
  std::optional<WallTime> expiry = parse_timestamp(string_of(data, "expires_at"));
  return expiry && *expiry > now;
}

WatchView::WatchView(const WatchPlan& plan, EventHandler print)
    : plan_(plan), print_(std::move(print)) {}

bool WatchView::matches(Kind kind, const json::object& data) const {
  // Muse's _passes_filters: exact matches on the record's own fields.
  if (plan_.kind && kind != *plan_.kind) return false;
  if (plan_.run_id && string_of(data, "run_id") != *plan_.run_id) return false;
  if (plan_.branch && string_of(data, "branch") != *plan_.branch) return false;
  return true;
}

bool WatchView::prints_expiry(Kind kind) const {
  // Muse reports expiry for reservations only.
  return kind == Kind::kReservation || plan_.coordd_events;
}

bool WatchView::print(std::string_view event_type, const Key& key, std::uint64_t seq,
                      const json::object& data, std::optional<std::string_view> cause) {
  json::object event;
  event["schema_version"] = kSchemaVersion;
  event["event_type"] = event_type;
  event["kind"] = kind_name(key.first);
  event["id"] = key.second;
  event["timestamp"] = format_timestamp(wall_now());
  event["data"] = data;
  event["seq"] = seq;
  event["root"] = plan_.root;
  if (cause) event["cause"] = *cause;
  return print_(event);
}

bool WatchView::rebase(const Baseline& baseline) {
  std::map<Key, const BaselineRecord*> current;
  for (const BaselineRecord& record : baseline.records) {
    current[{record.kind, record.id}] = &record;
  }
  if (!started_) {
    started_ = true;
    for (const auto& [key, record] : current) {
      if (!matches(key.first, record->data)) continue;
      shown_[key] = Shown{record->data, record->lease, record->active};
      if (!print("snapshot", key, record->seq, record->data)) return false;
    }
    return true;
  }

  // What one rescan of Muse's loop would print: kind by kind, the added, the
  // removed and the modified records, each group by id; then the expiries.
  struct KindChanges {
    std::vector<Key> added, removed, modified;
  };
  std::array<KindChanges, kKindCount> changes;
  std::vector<std::pair<Key, std::string_view>> expired;
  WallTime now = wall_now();
  for (const auto& [key, record] : current) {
    KindChanges& kind = changes[static_cast<std::size_t>(key.first)];
    auto shown = shown_.find(key);
    if (shown == shown_.end()) {
      if (matches(key.first, record->data)) kind.added.push_back(key);
      continue;
    }
    Shown& seen = shown->second;
    if (!matches(key.first, record->data)) {
      seen.hidden = true;
      seen.data = record->data;
      continue;
    }
    if (seen.hidden || seen.data != record->data) kind.modified.push_back(key);
    if (seen.active && record->lease && !record->active) {
      bool released = record->effective_expiry && *record->effective_expiry > now;
      expired.emplace_back(key, released ? "released" : "ttl");
    }
  }
  for (auto shown = shown_.begin(); shown != shown_.end();) {
    const Key& key = shown->first;
    if (current.contains(key)) {
      ++shown;
    } else if (shown->second.hidden) {
      shown = shown_.erase(shown);  // gone unheard, as it would have been
    } else {
      changes[static_cast<std::size_t>(key.first)].removed.push_back(key);
      ++shown;
    }
  }

  for (const KindChanges& kind : changes) {
    for (const Key& key : kind.added) {
      const BaselineRecord& record = *current.at(key);
      shown_[key] = Shown{record.data, record.lease, record.active};
      if (!print("added", key, record.seq, record.data)) return false;
    }
    for (const Key& key : kind.removed) {
      json::object last = std::move(shown_.at(key).data);
      shown_.erase(key);
      if (!print("removed", key, baseline.seq, last)) return false;
    }
    for (const Key& key : kind.modified) {
      const BaselineRecord& record = *current.at(key);
      Shown& shown = shown_.at(key);
      shown.data = record.data;
      shown.hidden = false;
      if (!print("modified", key, record.seq, record.data)) return false;
    }
  }
  for (const auto& [key, cause] : expired) {
    const BaselineRecord& record = *current.at(key);
    if (prints_expiry(key.first) && !print("expired", key, baseline.seq, record.data, cause)) {
      return false;
    }
  }
  // Leases now as the source sees them (one may have become active again).
  for (const auto& [key, record] : current) {
    if (auto shown = shown_.find(key); shown != shown_.end()) {
      shown->second.lease = record->lease;
      shown->second.active = record->active;
    }
  }
  return true;
}

bool WatchView::live(const json::object& event) {
  std::optional<Kind> kind = parse_kind(string_of(event, "kind"));
  if (!kind) return true;
  Key key{*kind, std::string(string_of(event, "id"))};
  std::string_view type = string_of(event, "event_type");
  const json::object& data = data_of(event);
  if (type == "removed") {
    shown_.erase(key);
  } else if (type == "expired") {
    if (auto shown = shown_.find(key); shown != shown_.end()) shown->second.active = false;
    if (!prints_expiry(*kind)) return true;
  } else {
    // added, modified (or a snapshot): a lease is active while its own
    // expires_at is ahead; coordd reports the end of it as `expired`.
    bool lease = is_lease(*kind, data);
    shown_[key] = Shown{data, lease, lease && expires_after(data, wall_now())};
  }
  return print_(event);
}

}  // namespace coordd
