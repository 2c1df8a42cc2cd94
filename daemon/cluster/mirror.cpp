#include "daemon/cluster/mirror.hpp"

#include <functional>
#include <set>

#include "proto/cluster_value.hpp"
#include "proto/display.hpp"
#include "proto/kind.hpp"

namespace coordd {

namespace {

std::size_t hash_of(std::string_view bytes) { return std::hash<std::string_view>{}(bytes); }

}  // namespace

Mirror::Mirror(Engine& engine, FileSystem& fs, LogThrottle& log)
    : engine_(engine), fs_(fs), log_(log) {}

std::string Mirror::path_of(const RecordRef& local) const {
  return engine_.coordination_dir(local.root) + "/" + std::string(kind_dir(local.kind)) + "/" +
         local.id + ".json";
}

std::string Mirror::copy_origin(const RecordRef& local) const {
  if (auto it = written_.find(local); it != written_.end()) return it->second.origin;
  if (const Engine::MirrorFile* file = engine_.mirror_file(local)) return file->origin;
  return "";
}

void Mirror::changed(RootId home, const std::string& host, Kind kind, const std::string& id) {
  RecordRef local{home, kind, id};
  const Record* record = engine_.store().find(RecordRef{engine_.origin_root(home, host), kind, id});
  if (record == nullptr) return remove(local, host);
  std::string bytes = encode_mirror_file(record->data_json(), host);
  std::size_t hash = hash_of(bytes);
  auto written = written_.find(local);
  const Engine::MirrorFile* file = engine_.mirror_file(local);
  bool current = (written != written_.end() && written->second.origin == host &&
                  written->second.hash == hash) ||
                 (file != nullptr && file->origin == host && file->hash == hash);
  if (!current) write(local, host, std::move(bytes));
}

void Mirror::write(const RecordRef& local, const std::string& host, std::string bytes) {
  std::string path = path_of(local);
  Engine::LocalFile there = engine_.local_file(local);
  std::string holder = copy_origin(local);
  if (there == Engine::LocalFile::kRecord || there == Engine::LocalFile::kUnreadable ||
      (!holder.empty() && holder != host)) {
    ++counters_.conflicts;
    log_.warn("not mirroring " + escape_control(host) + "'s " + std::string(kind_dir(local.kind)) +
              "/" + local.id + ": " +
              (holder.empty() ? std::string("this host has a file of that name")
                              : "host " + escape_control(holder) + "'s copy is there"));
    return;
  }
  std::size_t hash = hash_of(bytes);
  bytes += '\n';
  // Where no copy is known, nothing may be replaced: a local file that
  // appeared since the engine last looked is never overwritten.
  Status done = fs_.replace_file(path, bytes, /*only_if_absent=*/holder.empty());
  if (!done.ok()) {
    if (done.code() == "exists") {
      ++counters_.conflicts;
    } else {
      ++counters_.errors;
    }
    log_.warn("cannot mirror " + escape_control(host) + "'s record to " + escape_control(path) +
              ": " + done.message());
    return;
  }
  written_[local] = Written{host, hash};
  ++counters_.written;
}

void Mirror::remove(const RecordRef& local, const std::string& host) {
  if (copy_origin(local) != host) return;
  written_.erase(local);
  std::string path = path_of(local);
  // Only a file that still is this host's copy: a local record written over
  // it since stays.
  ReadResult read = fs_.read_file(path, kDefaultMaxRecordBytes);
  if (read.status != ReadStatus::kOk) return;  // gone already, or no longer a file of ours
  Result<ParsedRecord> parsed = parse_record(read.bytes);
  if (!parsed.ok() || parsed->mirror_of != host) return;
  fs_.remove_file(path);
  ++counters_.removed;
}

void Mirror::reconcile(RootId home) {
  std::set<RecordRef> wanted;
  for (const auto& [host, origin_root] : engine_.origin_roots_of(home)) {
    for (Kind kind : kAllKinds) {
      for (const Record& record : engine_.store().records(origin_root, kind)) {
        RecordRef local{home, kind, std::string(record.id())};
        std::string bytes = encode_mirror_file(record.data_json(), host);
        std::size_t hash = hash_of(bytes);
        const Engine::MirrorFile* file = engine_.mirror_file(local);
        // What is on disk decides here (a copy deleted locally is written again).
        if (file == nullptr || file->origin != host || file->hash != hash) {
          if (file != nullptr && file->origin != host) {
            // Another host's copy is there: it stays unless that host's
            // record is gone (then it is removed below, and this one waits
            // for the next change or catch-up).
            ++counters_.conflicts;
            continue;
          }
          write(local, host, std::move(bytes));
        }
        wanted.insert(local);
      }
    }
  }
  for (const auto& [local, file] : engine_.mirror_files(home)) {
    if (!wanted.contains(local)) remove(local, file.origin);
  }
}

}  // namespace coordd
