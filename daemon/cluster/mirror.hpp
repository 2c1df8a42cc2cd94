// Mirror: for a root shared with --mirror, writes every other host's record
// into this host's .muse/coordination/ too, so that Muse's own tools (muse
// coord list, forecast) see the whole swarm. Each copy carries the mirror
// marker (proto/cluster_value.hpp) naming its origin: the engine never takes
// it for a record of this host, so it is never published back. A copy goes
// when its origin removes the record; a copy deleted here (muse coord gc) is
// not a deletion anywhere else, and is written again only when its origin
// changes the record (or at the next catch-up). A local record is never
// overwritten: a copy that would land on one is skipped and counted.
// Writes are small atomic replaces on the reactor thread. Reactor thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "daemon/bus/log_throttle.hpp"
#include "daemon/engine/engine.hpp"

namespace coordd {

struct MirrorCounters {
  std::uint64_t written = 0;  // copies written or rewritten
  std::uint64_t removed = 0;  // copies removed (their origin removed the record)
  std::uint64_t conflicts =
      0;                     // copies not written: a local file (or another host's copy) is there
  std::uint64_t errors = 0;  // writes or removals the disk refused
};

class Mirror {
 public:
  // `fs` is the engine's disk; both must outlive this.
  Mirror(Engine& engine, FileSystem& fs, LogThrottle& log);

  // `host`'s record kind/id under local root `home` is now as its origin root
  // holds it (written), or gone (the copy removed).
  void changed(RootId home, const std::string& host, Kind kind, const std::string& id);
  // After a fresh read of the swarm: every copy under `home` made to match
  // the other hosts' records (written, rewritten or removed).
  void reconcile(RootId home);

  const MirrorCounters& counters() const { return counters_; }

 private:
  // The host whose copy is (or is being written) at ref, "" when none.
  std::string copy_origin(const RecordRef& local) const;
  // `bytes`: the copy, encode_mirror_file's (a newline is added).
  void write(const RecordRef& local, const std::string& host, std::string bytes);
  void remove(const RecordRef& local, const std::string& host);
  std::string path_of(const RecordRef& local) const;

  Engine& engine_;
  FileSystem& fs_;
  LogThrottle& log_;
  // Copies written by this run, by local ref: origin and the hash of the
  // bytes, until the engine has read them back (its view then agrees).
  struct Written {
    std::string origin;
    std::size_t hash = 0;
  };
  std::map<RecordRef, Written> written_;
  MirrorCounters counters_;
};

}  // namespace coordd
