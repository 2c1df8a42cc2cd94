#include "daemon/engine/engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <unordered_set>

#include "daemon/engine/record.hpp"
#include "proto/display.hpp"
#include "proto/wire.hpp"

namespace coordd {
namespace {

std::string quoted(const std::string& text) {
  return boost::json::serialize(boost::json::string(text));
}

}  // namespace

std::string_view rescan_cause_name(RescanCause cause) {
  switch (cause) {
    case RescanCause::kInitial:
      return "initial";
    case RescanCause::kOverflow:
      return "overflow";
    case RescanCause::kDirectoryChanged:
      return "directory_changed";
    case RescanCause::kDirectoryWrite:
      return "directory_write";
    case RescanCause::kPoll:
      return "poll";
    case RescanCause::kRequested:
      return "requested";
  }
  return "unknown";
}

Engine::Engine(FileSystem& fs, const Clock& clock, EngineOptions options)
    : fs_(fs), clock_(clock), options_(options) {}

RootId Engine::add_root(const std::string& root_path) {
  auto [known, fresh] = ids_by_path_.try_emplace(root_path, next_root_);
  if (fresh) ++next_root_;
  RootId id = known->second;
  Root& root = roots_[id];
  root =
      Root{root_path,     boost::json::serialize(boost::json::string(root_path)),       id, false,
           local_origin_, local_origin_.empty() ? std::string() : quoted(local_origin_)};
  if (root_listener_) root_listener_(id, true);
  return id;
}

void Engine::set_local_origin(const std::string& host_id) {
  local_origin_ = host_id;
  for (auto& [id, root] : roots_) {
    if (!root.remote) {
      root.origin = host_id;
      root.origin_json = quoted(host_id);
    }
  }
}

RootId Engine::origin_root(RootId home, const std::string& host) {
  // Keyed like a path no directory can have, so ids survive a remove + add.
  std::string key = roots_.at(home).path + '\0' + host;
  auto [known, fresh] = ids_by_path_.try_emplace(key, next_root_);
  if (fresh) ++next_root_;
  RootId id = known->second;
  if (!roots_.contains(id)) {
    const Root& local = roots_.at(home);
    roots_[id] = Root{local.path, local.json, home, true, host, quoted(host)};
  }
  return id;
}

bool Engine::is_origin_root(RootId root) const {
  auto it = roots_.find(root);
  return it != roots_.end() && it->second.remote;
}

std::vector<std::pair<std::string, RootId>> Engine::origin_roots_of(RootId home) const {
  std::vector<std::pair<std::string, RootId>> out;
  for (const auto& [id, root] : roots_) {
    if (root.remote && root.home == home) out.emplace_back(root.origin, id);
  }
  return out;
}

Status Engine::apply_remote(RootId origin_root, Kind kind, const std::string& id,
                            std::string_view bytes) {
  if (!is_origin_root(origin_root)) return Status::error("unknown_root", "not an origin root");
  if (!is_valid_record_id(id)) return Status::error("bad_record", "invalid record id");
  if (bytes.size() > options_.max_record_bytes) {
    return Status::error("bad_record", "larger than --max-record-bytes=" +
                                           std::to_string(options_.max_record_bytes));
  }
  Result<ParsedRecord> parsed = parse_record(bytes);
  if (!parsed.ok()) return parsed.status();
  if (parsed->mirror_of) {
    return Status::error("bad_record", "carries the mirror marker " +
                                           std::string(kMirrorMarkerField) +
                                           " (a copy, never a host's own record)");
  }
  RecordRef ref{origin_root, kind, id};
  Record* existing = store_.find(ref);
  if (existing && existing->data_json() == parsed->data_json) return Status();
  auto before = next_deadline();
  store_parsed(ref, *parsed, FileStamp{}, existing);
  notify_deadline(before);
  return Status();
}

void Engine::remove_remote(RootId origin_root, Kind kind, const std::string& id) {
  if (!is_origin_root(origin_root)) return;
  auto before = next_deadline();
  remove(RecordRef{origin_root, kind, id});
  notify_deadline(before);
}

void Engine::retain_remote(RootId origin_root,
                           const std::function<bool(Kind, const std::string&)>& keep) {
  if (!is_origin_root(origin_root)) return;
  auto before = next_deadline();
  for (Kind kind : kAllKinds) {
    std::vector<std::string> gone;
    for (const Record& record : store_.records(origin_root, kind)) {
      std::string id(record.id());
      if (!keep(kind, id)) gone.push_back(std::move(id));
    }
    std::sort(gone.begin(), gone.end());
    for (const std::string& id : gone) remove(RecordRef{origin_root, kind, id});
  }
  notify_deadline(before);
}

void Engine::notify_local(const RecordRef& ref, const Record* now) {
  if (local_change_listener_ && !roots_.at(ref.root).remote) local_change_listener_(ref, now);
}

void Engine::remove_root(RootId root) {
  if (!roots_.at(root).remote) {
    for (const auto& [host, origin] : origin_roots_of(root)) remove_root(origin);
  }
  auto before = next_deadline();
  // Its leases go with it: removing its files one by one must not expire a
  // lease that outlives one of its files or heartbeats for a moment.
  leases_.forget_root(root);
  for (Kind kind : kAllKinds) {
    std::vector<std::string> ids;
    for (const Record& record : store_.records(root, kind)) ids.emplace_back(record.id());
    std::sort(ids.begin(), ids.end());
    for (const std::string& id : ids) remove(RecordRef{root, kind, id});
  }
  std::erase_if(bad_files_, [root](const auto& entry) { return std::get<0>(entry.first) == root; });
  std::erase_if(mirror_files_, [root](const auto& entry) { return entry.first.root == root; });
  std::erase_if(open_dirs_, [root](const auto& entry) { return entry.first.first == root; });
  std::string below = coordination_dir(root);
  std::erase_if(dir_problems_,
                [&below](const auto& entry) { return entry.first.starts_with(below); });
  store_.drop_root(root);
  if (root_listener_ && !roots_.at(root).remote) root_listener_(root, false);
  roots_.erase(root);
  notify_deadline(before);
}

std::optional<RootId> Engine::find_root(std::string_view root_path) const {
  for (const auto& [id, root] : roots_) {
    if (!root.remote && root.path == root_path) return id;
  }
  return std::nullopt;
}

std::vector<RootId> Engine::root_ids() const {
  std::vector<RootId> ids;
  for (const auto& [id, root] : roots_) {
    if (!root.remote) ids.push_back(id);
  }
  return ids;
}

std::string Engine::coordination_dir(RootId root) const {
  return roots_.at(root).path + "/.muse/coordination";
}

std::string Engine::path_of(RootId root, Kind kind, std::string_view name) const {
  std::string path = coordination_dir(root);
  path += '/';
  path += kind_dir(kind);
  path += '/';
  path += name;
  return path;
}

void Engine::on_file_changed(RootId root, Kind kind, std::string_view name) {
  if (!roots_.contains(root)) return;
  ClassifiedName classified = classify_name(name);
  if (classified.cls == NameClass::kIgnored) return;
  if (classified.cls == NameClass::kInvalid) {
    note_bad(root, kind, name, "name is not <id>.json with id [A-Za-z0-9][A-Za-z0-9._:-]{0,127}");
    return;
  }
  auto before = next_deadline();
  ingest(RecordRef{root, kind, std::string(classified.id)}, std::string(name), held_dir(root, kind),
         nullptr);
  notify_deadline(before);
}

void Engine::on_file_gone(RootId root, Kind kind, std::string_view name) {
  if (!roots_.contains(root)) return;
  clear_bad(root, kind, name);
  ClassifiedName classified = classify_name(name);
  if (classified.cls != NameClass::kRecord) return;
  auto before = next_deadline();
  RecordRef ref{root, kind, std::string(classified.id)};
  mirror_files_.erase(ref);
  remove(ref);
  notify_deadline(before);
}

void Engine::on_coordination_file(RootId root, std::string_view name) {
  if (cookie_listener_ && roots_.contains(root)) cookie_listener_(root, name);
}

void Engine::ingest(const RecordRef& ref, const std::string& name, const DirListing* listing,
                    const FileStamp* listed) {
  Record* existing = store_.find(ref);
  // The polling rescan trusts an unchanged stamp; everything else re-reads.
  if (listed && existing && existing->stamp_digest == listed->digest()) return;
  if (listed) {
    auto mirror = mirror_files_.find(ref);
    if (mirror != mirror_files_.end() && mirror->second.stamp == *listed) return;
    auto bad = bad_files_.find(BadKey{ref.root, ref.kind, name});
    if (bad != bad_files_.end() && bad->second.stamp == *listed) return;  // still the same bad file
  }
  // Re-noted below if it still is a mirror copy.
  mirror_files_.erase(ref);

  ReadResult read =
      listing ? fs_.read_listed(*listing, name, options_.max_record_bytes)
              : fs_.read_file(path_of(ref.root, ref.kind, name), options_.max_record_bytes);
  // Remember a bad file by the stamp the poller will list next time.
  const FileStamp* seen = listed ? listed : &read.stamp;
  switch (read.status) {
    case ReadStatus::kOk:
      break;
    case ReadStatus::kMissing:
      remove(ref);
      return;
    case ReadStatus::kSymlink:
      note_bad(ref.root, ref.kind, name, "is a symlink (not followed)", listed);
      return;
    case ReadStatus::kNotRegular:
      note_bad(ref.root, ref.kind, name, "is not a regular file", seen);
      return;
    case ReadStatus::kTooLarge:
      note_bad(ref.root, ref.kind, name,
               "is larger than --max-record-bytes=" + std::to_string(options_.max_record_bytes),
               seen);
      return;
    case ReadStatus::kError:
      note_bad(ref.root, ref.kind, name, "cannot be read: " + read.error, listed);
      return;
  }
  Result<ParsedRecord> parsed = parse_record(read.bytes);
  if (!parsed.ok()) {
    note_bad(ref.root, ref.kind, name, parsed.status().message(), seen);
    return;
  }
  clear_bad(ref.root, ref.kind, name);
  if (parsed->mirror_of) return note_mirror(ref, *parsed, listed ? *listed : read.stamp);
  if (existing && existing->data_json() == parsed->data_json) {
    // Touched or rewritten with the same content: no event.
    existing->stamp_digest = read.stamp.digest();
    return;
  }
  store_parsed(ref, *parsed, read.stamp, existing);
}

void Engine::note_mirror(const RecordRef& ref, const ParsedRecord& parsed, const FileStamp& stamp) {
  mirror_files_[ref] =
      MirrorFile{*parsed.mirror_of, std::hash<std::string_view>{}(parsed.data_json), stamp};
  remove(ref);  // a record of ours overwritten by a copy (or never one): gone
}

Engine::LocalFile Engine::local_file(const RecordRef& ref) const {
  if (store_.find(ref) != nullptr) return LocalFile::kRecord;
  if (mirror_files_.contains(ref)) return LocalFile::kMirror;
  if (bad_files_.contains(BadKey{ref.root, ref.kind, ref.id + ".json"})) {
    return LocalFile::kUnreadable;
  }
  return LocalFile::kNone;
}

const Engine::MirrorFile* Engine::mirror_file(const RecordRef& ref) const {
  auto it = mirror_files_.find(ref);
  return it == mirror_files_.end() ? nullptr : &it->second;
}

std::vector<std::pair<RecordRef, Engine::MirrorFile>> Engine::mirror_files(RootId home) const {
  std::vector<std::pair<RecordRef, MirrorFile>> out;
  for (auto it = mirror_files_.lower_bound(RecordRef{home, Kind{}, ""});
       it != mirror_files_.end() && it->first.root == home; ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

void Engine::store_parsed(const RecordRef& ref, ParsedRecord& parsed, const FileStamp& stamp,
                          Record* existing) {
  bool added = existing == nullptr;
  Record& stored = store_.put(ref, parsed.data_json, store_.tag(parsed.run_id),
                              store_.tag(parsed.branch), stamp);
  std::vector<Expiry> expired;
  leases_.put(ref, parsed, clock_.now(), expired);
  stored.seq = emit(added ? EventType::kAdded : EventType::kModified, ref, stored);
  notify_local(ref, &stored);
  emit_expiries(expired);
}

void Engine::remove(const RecordRef& ref) {
  Record::Ptr record = store_.take(ref);
  if (!record) return;
  std::vector<Expiry> expired;
  leases_.erase(ref, clock_.now(), expired);
  emit(EventType::kRemoved, ref, *record);
  notify_local(ref, nullptr);
  emit_expiries(expired);
}

void Engine::on_rescan(RootId root, RescanCause cause) {
  if (!roots_.contains(root)) return;
  ++counters_.rescans;
  if (cause == RescanCause::kOverflow) ++counters_.overflows;
  counters_.last_rescan_cause = cause;
  auto before = next_deadline();
  std::string coord = coordination_dir(root);
  DirStatus status = fs_.probe_dir(coord);
  if (status == DirStatus::kError) {
    // Not knowing is not the same as gone: treating it as missing would
    // report every record removed. Keep them; the next rescan retries.
    note_dir_problem(coord, "cannot be inspected; keeping its records as they were", false);
    notify_deadline(before);
    return;
  }
  if (status == DirStatus::kSymlink) {
    note_dir_problem(
        coord, "is a symlink; refusing to read it (records under it are treated as absent)", true);
  } else {
    clear_dir_problem(coord);
  }
  for (Kind kind : kAllKinds) rescan_kind(root, kind, status == DirStatus::kOk, cause);
  notify_deadline(before);
}

void Engine::rescan_kind(RootId root, Kind kind, bool directory_usable, RescanCause cause) {
  std::string dir = coordination_dir(root) + "/" + std::string(kind_dir(kind));
  DirListing listing;
  listing.status = DirStatus::kMissing;
  // Periodic scans and kqueue's directory writes trust stamps: a file that was
  // replaced, created or rewritten has a new inode, size or mtime. After an
  // overflow or a directory swap, content must be compared to report exactly
  // what changed.
  bool trust_stamps = cause == RescanCause::kPoll || cause == RescanCause::kDirectoryWrite;
  if (directory_usable) listing = fs_.list_dir(dir, trust_stamps);
  hold_dir(root, kind, listing);
  if (listing.status == DirStatus::kError) {
    note_dir_problem(
        dir, "cannot be listed: " + listing.error + "; keeping its records as they were", false);
    return;
  }
  if (listing.status == DirStatus::kSymlink) {
    note_dir_problem(dir, "is a symlink; refusing to read it", true);
  } else {
    clear_dir_problem(dir);
  }
  std::sort(listing.entries.begin(), listing.entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });

  // The sets are only needed to find what vanished: skip them when the store
  // holds nothing of this kind (the initial scan) and nothing bad is tracked.
  auto mirrors = mirror_files_.lower_bound(RecordRef{root, kind, ""});
  const bool diff_mirrors =
      mirrors != mirror_files_.end() && mirrors->first.root == root && mirrors->first.kind == kind;
  const bool diff_records = !store_.records(root, kind).empty() || diff_mirrors;
  std::vector<std::string> mirrors_before;
  for (auto it = mirrors; diff_mirrors && it != mirror_files_.end() && it->first.root == root &&
                          it->first.kind == kind;
       ++it) {
    mirrors_before.push_back(it->first.id);
  }
  if (!diff_records) {
    // The first read of this kind: size the tables once, not by rehashing.
    store_.reserve(root, kind, listing.entries.size());
    if (kind == Kind::kReservation || kind == Kind::kClaim) {
      leases_.reserve_more(listing.entries.size());
    }
  }
  const bool diff_bad = !bad_files_.empty();
  std::unordered_set<std::string_view> present;
  std::unordered_set<std::string_view> listed;
  if (diff_records) present.reserve(listing.entries.size());
  for (const DirEntry& entry : listing.entries) {
    if (diff_bad) listed.insert(entry.name);
    ClassifiedName classified = classify_name(entry.name);
    if (classified.cls == NameClass::kIgnored) continue;
    if (classified.cls == NameClass::kInvalid) {
      note_bad(root, kind, entry.name,
               "name is not <id>.json with id [A-Za-z0-9][A-Za-z0-9._:-]{0,127}");
      continue;
    }
    if (diff_records) present.insert(classified.id);
    ingest(RecordRef{root, kind, std::string(classified.id)}, entry.name, &listing,
           trust_stamps ? &entry.stamp : nullptr);
  }
  std::vector<std::string> gone;
  if (diff_records) {
    for (const Record& record : store_.records(root, kind)) {
      if (!present.contains(record.id())) gone.emplace_back(record.id());
    }
  }
  std::sort(gone.begin(), gone.end());
  for (const std::string& id : gone) remove(RecordRef{root, kind, id});
  // Mirror copies known before this scan that are no longer there.
  if (diff_mirrors) {
    for (const std::string& id : mirrors_before) {
      if (!present.contains(id)) mirror_files_.erase(RecordRef{root, kind, id});
    }
  }
  // Forget warnings about files that are no longer there.
  if (diff_bad)
    std::erase_if(bad_files_, [&](const auto& entry) {
      const auto& [bad_root, bad_kind, name] = entry.first;
      return bad_root == root && bad_kind == kind && !listed.contains(name);
    });
}

void Engine::hold_dir(RootId root, Kind kind, const DirListing& listing) {
  auto key = std::pair(root, kind);
  if (listing.status != DirStatus::kOk || !listing.dir_fd ||
      (open_dirs_.size() >= kMaxOpenDirs && !open_dirs_.contains(key))) {
    open_dirs_.erase(key);
    return;
  }
  DirListing& held = open_dirs_[key];
  held.status = DirStatus::kOk;
  held.path = listing.path;
  held.dir_fd = listing.dir_fd;
}

const DirListing* Engine::held_dir(RootId root, Kind kind) const {
  auto it = open_dirs_.find(std::pair(root, kind));
  return it == open_dirs_.end() ? nullptr : &it->second;
}

void Engine::note_dir_problem(const std::string& dir, const std::string& problem, bool symlink) {
  if (symlink) ++counters_.symlinks_refused;
  auto [it, fresh] = dir_problems_.try_emplace(dir, problem);
  if (!fresh && it->second == problem) return;
  it->second = problem;
  if (symlink) {
    spdlog::error("{} {}", escape_control(dir), problem);
  } else {
    spdlog::warn("{} {}", escape_control(dir), problem);
  }
}

void Engine::advance_clock() {
  auto before = next_deadline();
  std::vector<Expiry> expired;
  leases_.advance(clock_.now(), expired);
  emit_expiries(expired);
  notify_deadline(before);
}

void Engine::emit_expiries(std::vector<Expiry>& expired) {
  for (const Expiry& expiry : expired) {
    Record* record = store_.find(expiry.record);
    if (record) record->seq = emit(EventType::kExpired, expiry.record, *record, expiry.cause);
  }
}

std::uint64_t Engine::emit(EventType type, const RecordRef& ref, const Record& record,
                           std::optional<ExpiryCause> cause) {
  std::uint64_t seq = ++seq_;
  if (sink_ == nullptr) return seq;
  std::string timestamp = format_timestamp(clock_.now());
  const Root& root = roots_.at(ref.root);
  auto event = std::make_shared<Event>();
  event->seq = seq;
  event->type = type;
  event->root = root.home;
  event->remote = root.remote;
  event->origin = root.origin;
  event->kind = ref.kind;
  event->run_id = *record.run_id;
  event->branch = *record.branch;
  event->body = std::make_shared<const std::string>(
      event_body({seq, type, ref.kind, ref.id, timestamp, root.json, record.data_json(), cause,
                  root.origin_json}));
  ++counters_.events_emitted;
  sink_->publish(event);
  return seq;
}

void Engine::note_bad(RootId root, Kind kind, std::string_view name, std::string_view reason,
                      const FileStamp* listed) {
  BadKey key{root, kind, std::string(name)};
  auto it = bad_files_.find(key);
  if (it != bad_files_.end()) {
    if (listed) it->second.stamp = *listed;
    if (it->second.reason == reason) return;  // counted and warned about already
    it->second.reason = std::string(reason);
  } else if (bad_files_.size() < options_.max_tracked_bad_files) {
    bad_files_.emplace(std::move(key),
                       BadFile{std::string(reason), listed ? *listed : FileStamp{}});
  }
  // Past the tracking bound every sighting counts and warns: noisy, not unbounded.
  ++counters_.bad_files_skipped;
  spdlog::warn("skipping {}: {}", escape_control(path_of(root, kind, name)), reason);
}

void Engine::clear_bad(RootId root, Kind kind, std::string_view name) {
  bad_files_.erase(BadKey{root, kind, std::string(name)});
}

void Engine::notify_deadline(std::optional<WallTime> before) {
  if (deadline_listener_ && before != next_deadline()) deadline_listener_();
}

std::vector<std::pair<RecordRef, const Record*>> Engine::matching(const EventFilter& filter,
                                                                  bool active_only) const {
  std::vector<std::pair<RecordRef, const Record*>> out;
  for (const auto& [root, kinds] : store_.roots()) {
    const Root& info = roots_.at(root);
    for (Kind kind : kAllKinds) {
      for (const Record& record : kinds[static_cast<std::size_t>(kind)]) {
        if (!filter.matches(info.home, kind, *record.run_id, *record.branch, info.remote,
                            info.origin)) {
          continue;
        }
        RecordRef ref{root, kind, std::string(record.id())};
        if (active_only) {
          auto state = leases_.state_of(ref);
          if (!state || !state->active) continue;
        }
        out.emplace_back(std::move(ref), &record);
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.second->seq < b.second->seq; });
  return out;
}

std::string Engine::snapshot_body(const RecordRef& ref, const Record& record) const {
  std::string timestamp = format_timestamp(clock_.now());
  const Root& root = roots_.at(ref.root);
  return event_body({record.seq, EventType::kSnapshot, ref.kind, ref.id, timestamp, root.json,
                     record.data_json(), std::nullopt, root.origin_json});
}

}  // namespace coordd
