// Engine: the coordination state of every watched root. It turns watcher
// notifications into validated records (Store), active leases (ActiveLeases)
// and sequenced events published to an EventSink. It reads files only through
// FileSystem and time only through Clock. Reactor thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "daemon/engine/active_leases.hpp"
#include "daemon/engine/clock.hpp"
#include "daemon/engine/event.hpp"
#include "daemon/engine/event_filter.hpp"
#include "daemon/engine/file_system.hpp"
#include "daemon/engine/record.hpp"
#include "daemon/engine/store.hpp"
#include "daemon/engine/watcher.hpp"

namespace coordd {

inline constexpr std::size_t kDefaultMaxRecordBytes = 1 << 20;

struct EngineOptions {
  std::size_t max_record_bytes = kDefaultMaxRecordBytes;
  // Distinct bad files remembered so each is warned about once; past this
  // many, skips are still counted but warned about every time.
  std::size_t max_tracked_bad_files = 10'000;
};

struct EngineCounters {
  std::uint64_t events_emitted = 0;
  std::uint64_t bad_files_skipped = 0;  // times a file became unacceptable (or changed reason)
  std::uint64_t rescans = 0;
  std::uint64_t overflows = 0;
  // Times a coordination or kind directory was found to be a symlink and not
  // read (logged once per directory until it is a directory again).
  std::uint64_t symlinks_refused = 0;
  std::optional<RescanCause> last_rescan_cause;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void publish(const EventPtr& event) = 0;
};

class Engine final : public WatchSink {
 public:
  Engine(FileSystem& fs, const Clock& clock, EngineOptions options);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Where events go. While unset (e.g. during the initial scan) changes still
  // get sequence numbers but nothing is published.
  void set_sink(EventSink* sink) { sink_ = sink; }
  // Called whenever next_deadline() may have changed.
  void set_deadline_listener(std::function<void()> listener) {
    deadline_listener_ = std::move(listener);
  }
  // Called with each file name seen directly in a coordination directory.
  void set_cookie_listener(std::function<void(RootId, std::string_view)> listener) {
    cookie_listener_ = std::move(listener);
  }
  // Called after each change to a record read from this host's disk (not one
  // merged from another host): the record as stored now, or null when gone.
  using LocalChangeListener = std::function<void(const RecordRef&, const Record*)>;
  void set_local_change_listener(LocalChangeListener listener) {
    local_change_listener_ = std::move(listener);
  }

  // Called after a local root is added (true), and after a local root's
  // records have been removed, before the root is forgotten (false).
  using RootListener = std::function<void(RootId, bool added)>;
  void set_root_listener(RootListener listener) { root_listener_ = std::move(listener); }

  // --- records of other hosts (cluster) ---------------------------------
  // This host's id: from now on every event and snapshot names its origin.
  void set_local_origin(const std::string& host_id);
  const std::string& local_origin() const { return local_origin_; }
  // The root that holds `host`'s records merged under local root `home`
  // (made on first use). Such an origin root has no directory: it is fed
  // only by apply_remote/remove_remote, and removed with its home.
  RootId origin_root(RootId home, const std::string& host);
  // Applies another host's record (its JSON bytes) as a file change would; a
  // bad record is refused with the same reasons a file gets. Nothing is
  // published when the content is unchanged.
  Status apply_remote(RootId origin_root, Kind kind, const std::string& id, std::string_view bytes);
  void remove_remote(RootId origin_root, Kind kind, const std::string& id);
  // Removes the records of an origin root that `keep` does not name (after a
  // fresh read of that host's records).
  void retain_remote(RootId origin_root, const std::function<bool(Kind, const std::string&)>& keep);
  bool is_origin_root(RootId root) const;
  const std::string& origin_json(RootId root) const { return roots_.at(root).origin_json; }
  // Origin roots merged under `home`, by host id.
  std::vector<std::pair<std::string, RootId>> origin_roots_of(RootId home) const;

  // --- mirror copies of other hosts' records on this disk (--mirror) -------
  // A file carrying the mirror marker (proto/cluster_value.hpp) is never a
  // record of this host: it is noted here, not stored, and changes nothing
  // clients see (the record it copies is in its origin root).
  struct MirrorFile {
    std::string origin;    // the host its marker names
    std::size_t hash = 0;  // std::hash of the file's record as parsed (compact JSON)
    FileStamp stamp;       // as read, so the poller need not read it again
  };
  // What the file <home>/.muse/coordination/<kind>/<id>.json is, as last read.
  enum class LocalFile { kNone, kRecord, kMirror, kUnreadable };
  LocalFile local_file(const RecordRef& ref) const;
  const MirrorFile* mirror_file(const RecordRef& ref) const;
  // The mirror files read under a local root.
  std::vector<std::pair<RecordRef, MirrorFile>> mirror_files(RootId home) const;

  // Registers a root (an absolute, normalised path). Scanning it is the
  // caller's next step: on_rescan(root, RescanCause::kInitial). A path
  // removed and added again gets its old id back, so a subscription
  // filtered on it keeps matching.
  RootId add_root(const std::string& root_path);
  // Forgets a root, publishing `removed` for each of its records.
  void remove_root(RootId root);
  std::optional<RootId> find_root(std::string_view root_path) const;
  bool has_root(RootId root) const { return roots_.contains(root); }
  const std::string& root_path(RootId root) const { return roots_.at(root).path; }
  const std::string& root_json(RootId root) const { return roots_.at(root).json; }
  // The local roots (watched directories), without origin roots.
  std::vector<RootId> root_ids() const;
  // <root>/.muse/coordination
  std::string coordination_dir(RootId root) const;

  // WatchSink
  void on_file_changed(RootId root, Kind kind, std::string_view name) override;
  void on_file_gone(RootId root, Kind kind, std::string_view name) override;
  void on_coordination_file(RootId root, std::string_view name) override;
  void on_rescan(RootId root, RescanCause cause) override;

  // Ends leases whose expiry has passed by the clock's now().
  void advance_clock();
  std::optional<WallTime> next_deadline() const { return leases_.next_deadline(); }

  std::uint64_t last_seq() const { return seq_; }
  // The next seq of the global counter, for messages.
  std::uint64_t allocate_seq() { return ++seq_; }
  const Store& store() const { return store_; }
  const ActiveLeases& leases() const { return leases_; }
  const EngineCounters& counters() const { return counters_; }
  std::size_t bad_file_count() const { return bad_files_.size(); }
  const Clock& clock() const { return clock_; }

  // Every stored record matching `filter`, in ascending seq order.
  std::vector<std::pair<RecordRef, const Record*>> matching(const EventFilter& filter,
                                                            bool active_only) const;
  // The body of a `snapshot` event for a stored record (its seq is the seq of
  // the record's last change, so snapshots are ordered and unique too).
  std::string snapshot_body(const RecordRef& ref, const Record& record) const;

 private:
  struct Root {
    std::string path;
    std::string json;  // path as a JSON string literal
    RootId home = 0;   // itself, or the local root an origin root merges into
    bool remote = false;
    std::string origin;       // host id ("" while not clustered)
    std::string origin_json;  // as a JSON literal, "" while not clustered
  };
  using BadKey = std::tuple<RootId, Kind, std::string>;
  struct BadFile {
    std::string reason;  // what it was last warned about
    FileStamp stamp;     // as listed, so the poller need not look again
  };

  // Reads and applies one record file. From a rescan, `listing` is the
  // directory listed and `listed` the entry's stamp when stamps are trusted.
  void ingest(const RecordRef& ref, const std::string& name, const DirListing* listing,
              const FileStamp* listed);
  void remove(const RecordRef& ref);
  // Stores a parsed record (added or modified) and emits its events.
  void store_parsed(const RecordRef& ref, ParsedRecord& parsed, const FileStamp& stamp,
                    Record* existing);
  void notify_local(const RecordRef& ref, const Record* now);
  // A mirror copy was read at `ref`: a local record there is gone.
  void note_mirror(const RecordRef& ref, const ParsedRecord& parsed, const FileStamp& stamp);
  void rescan_kind(RootId root, Kind kind, bool directory_usable, RescanCause cause);
  // A directory that could not be read this time: logged when the problem
  // is new for it (a rescan loop must not repeat it), cleared once readable.
  void note_dir_problem(const std::string& dir, const std::string& problem, bool symlink);
  void clear_dir_problem(const std::string& dir) { dir_problems_.erase(dir); }
  void note_bad(RootId root, Kind kind, std::string_view name, std::string_view reason,
                const FileStamp* listed = nullptr);
  void clear_bad(RootId root, Kind kind, std::string_view name);
  // Sequences and publishes one event; returns its seq (the caller stamps a
  // stored record with it).
  std::uint64_t emit(EventType type, const RecordRef& ref, const Record& record,
                     std::optional<ExpiryCause> cause = std::nullopt);
  void emit_expiries(std::vector<Expiry>& expired);
  void notify_deadline(std::optional<WallTime> before);
  std::string path_of(RootId root, Kind kind, std::string_view name) const;

  FileSystem& fs_;
  const Clock& clock_;
  EngineOptions options_;
  EventSink* sink_ = nullptr;
  std::function<void()> deadline_listener_;
  std::function<void(RootId, std::string_view)> cookie_listener_;
  LocalChangeListener local_change_listener_;
  RootListener root_listener_;
  std::string local_origin_;

  std::map<RootId, Root> roots_;
  RootId next_root_ = 1;
  std::map<std::string, RootId, std::less<>> ids_by_path_;  // every root ever added
  Store store_;
  ActiveLeases leases_;
  std::uint64_t seq_ = 0;
  EngineCounters counters_;
  std::map<BadKey, BadFile> bad_files_;
  std::map<RecordRef, MirrorFile> mirror_files_;
  std::map<std::string, std::string> dir_problems_;  // directory -> what was logged
  // Each kind directory as last listed, held open (DiskFileSystem), so that
  // a changed file is opened relative to it instead of by walking its whole
  // path; at most kMaxOpenDirs (past that, by path). A directory replaced or
  // removed is listed again (its watch ends: a rescan) before any event
  // from its successor is handled.
  static constexpr std::size_t kMaxOpenDirs = 512;
  void hold_dir(RootId root, Kind kind, const DirListing& listing);
  const DirListing* held_dir(RootId root, Kind kind) const;
  std::map<std::pair<RootId, Kind>, DirListing> open_dirs_;
};

}  // namespace coordd
