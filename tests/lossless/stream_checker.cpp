#include "tests/lossless/stream_checker.hpp"

#include <fstream>
#include <sstream>

#include "proto/kind.hpp"

namespace coordd::lossless {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxDifferencesListed = 20;

std::string read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::uint64_t seq_of(const json::object& line, std::string_view key = "seq") {
  const json::value* seq = line.if_contains(key);
  if (seq == nullptr || !(seq->is_uint64() || seq->is_int64())) return 0;
  return seq->to_number<std::uint64_t>();
}

std::string text_of(const json::object& line, std::string_view key) {
  const json::value* value = line.if_contains(key);
  return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

std::string describe(const json::object& line) { return json::serialize(line); }

// The fields in which two versions of a record differ, e.g.
// `revision: 7 here, 9 on disk`.
std::string changed_fields(const json::object& got, const json::object& expected) {
  std::string out;
  auto field = [&](std::string_view key) {
    const json::value* mine = got.if_contains(key);
    const json::value* theirs = expected.if_contains(key);
    if (mine && theirs && *mine == *theirs) return;
    if (!out.empty()) out += "; ";
    out += std::string(key) + ": " + (mine ? json::serialize(*mine) : "absent") + " here, " +
           (theirs ? json::serialize(*theirs) : "absent") + " on disk";
  };
  for (const auto& item : got) field(item.key());
  for (const auto& item : expected) {
    if (!got.contains(item.key())) field(item.key());
  }
  return out;
}

}  // namespace

RecordsByKind read_records(const fs::path& coordination, std::vector<std::string>& problems) {
  RecordsByKind records;
  for (Kind kind : kAllKinds) {
    fs::path dir = coordination / kind_dir(kind);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      std::string name = entry.path().filename().string();
      if (name.starts_with('.') || !name.ends_with(".json") || name.size() <= 5) continue;
      std::string bytes = read_whole_file(entry.path());
      boost::system::error_code parse_error;
      json::value parsed = json::parse(bytes, parse_error);
      if (parse_error || !parsed.is_object()) {
        problems.push_back(entry.path().string() + " on disk is not a JSON object: " + bytes);
        continue;
      }
      records[std::string(kind_dir(kind))][name.substr(0, name.size() - 5)] =
          std::move(parsed.get_object());
    }
  }
  return records;
}

RecordsByKind only_matching(const RecordsByKind& records, const RecordFilter& filter) {
  RecordsByKind out;
  for (const auto& [kind, by_id] : records) {
    for (const auto& [id, record] : by_id) {
      if (filter(kind, record)) out[kind][id] = record;
    }
  }
  return out;
}

RecordsByKind records_of_list(const json::object& list_reply) {
  RecordsByKind records;
  for (const json::value& record : list_reply.at("records").as_array()) {
    std::optional<Kind> kind = parse_kind(record.at("kind").as_string());
    if (!kind) continue;
    records[std::string(kind_dir(*kind))][std::string(record.at("id").as_string())] =
        record.at("data").as_object();
  }
  return records;
}

std::vector<std::string> differences(const RecordsByKind& got, const RecordsByKind& expected) {
  std::vector<std::string> differences;
  auto note = [&](const std::string& text) { differences.push_back(text); };
  for (const auto& [kind, by_id] : expected) {
    auto held = got.find(kind);
    for (const auto& [id, record] : by_id) {
      const json::object* mine = nullptr;
      if (held != got.end()) {
        auto it = held->second.find(id);
        if (it != held->second.end()) mine = &it->second;
      }
      if (mine == nullptr) {
        note(kind + "/" + id + " is on disk but missing here");
      } else if (*mine != record) {
        note(kind + "/" + id + " differs: " + changed_fields(*mine, record));
      }
    }
  }
  for (const auto& [kind, by_id] : got) {
    auto on_disk = expected.find(kind);
    for (const auto& [id, record] : by_id) {
      if (on_disk == expected.end() || !on_disk->second.contains(id)) {
        note(kind + "/" + id + " is here but not on disk");
      }
    }
  }
  if (differences.size() > kMaxDifferencesListed) {
    std::size_t more = differences.size() - kMaxDifferencesListed;
    differences.resize(kMaxDifferencesListed);
    differences.push_back("... and " + std::to_string(more) + " more differences from the disk");
  }
  return differences;
}

void StreamChecker::receive(const json::object& line) {
  std::string type = text_of(line, "type");
  if (type == "subscribed") {
    on_subscribed(line);
  } else if (type == "event") {
    on_event(line);
  } else if (type == "snapshot_end") {
    on_snapshot_end(line);
  } else if (type == "synced") {
    on_bookmark(seq_of(line), "synced");
  } else if (type == "lagged") {
    on_lagged(line);
  } else {
    problem("an unexpected line in the stream: " + describe(line));
  }
}

std::uint64_t StreamChecker::resume_point() const {
  return lag_ ? lag_->from_seq - 1 : applied_through_;
}

void StreamChecker::on_subscribed(const json::object& line) {
  sub_ = seq_of(line, "sub");
  subscribed_seq_ = seq_of(line);
  ends_in_bookmark_ = false;
  const json::value* resumed = line.if_contains("resumed");
  if (resumed && *resumed == true) {
    if (!has_state_)
      problem("a subscription resumed before any snapshot completed: " + describe(line));
    ++resumes_;
    applied_through_ = resume_point();
    last_seq_ = applied_through_;
    lag_.reset();
    expect_resync_ = false;
    phase_ = Phase::kLive;
    return;
  }
  if (resumed) {
    std::string reason = text_of(line, "reason");
    if (reason != "epoch_changed" && reason != "compacted") {
      problem("a refused resume names no known reason: " + describe(line));
    }
  }
  if (has_state_) ++resyncs_;
  expect_resync_ = resumed != nullptr;
  phase_ = Phase::kSnapshot;
  last_seq_ = 0;
  snapshot_.clear();
  applied_.clear();
}

void StreamChecker::on_event(const json::object& line) {
  ++events_received_;
  ends_in_bookmark_ = false;
  std::uint64_t seq = seq_of(line);
  std::string type = text_of(line, "event_type");
  std::string what = "'" + type + "' for " + text_of(line, "kind") + "/" + text_of(line, "id") +
                     " at seq " + std::to_string(seq);
  if (phase_ == Phase::kUnsubscribed) {
    problem(what + " arrived before any subscribed reply");
    return;
  }
  if (seq_of(line, "sub") != sub_) {
    problem(what + " carries sub " + std::to_string(seq_of(line, "sub")) + ", not " +
            std::to_string(sub_.value_or(0)));
  }
  if (seq <= last_seq_) {
    auto earlier = applied_.find(seq);
    if (earlier != applied_.end()) {
      problem(what + " was received twice (first as " + earlier->second + ")");
    } else {
      problem(what + " arrived after seq " + std::to_string(last_seq_) + ": out of order");
    }
    return;
  }
  last_seq_ = seq;
  if (type == "snapshot") {
    if (phase_ != Phase::kSnapshot) problem(what + " arrived outside a snapshot");
    if (seq > subscribed_seq_) {
      problem(what + " is past the snapshot's seq " + std::to_string(subscribed_seq_));
    }
    apply(snapshot_, line, seq);
    return;
  }
  if (phase_ == Phase::kSnapshot) {
    problem(what + " arrived before snapshot_end");
    return;
  }
  if (lag_) {
    // The subscriber owes a resume; what follows the marker is only checked.
    if (seq <= lag_->to_seq) problem(what + " lies inside the lagged range it follows");
    return;
  }
  apply(state_, line, seq);
  applied_through_ = seq;
}

void StreamChecker::apply(RecordsByKind& state, const json::object& event, std::uint64_t seq) {
  std::string type = text_of(event, "event_type");
  std::string id = text_of(event, "id");
  std::optional<Kind> kind = parse_kind(text_of(event, "kind"));
  const json::value* data = event.if_contains("data");
  if (!kind || id.empty() || data == nullptr || !data->is_object()) {
    problem("a malformed event: " + describe(event));
    return;
  }
  std::string dir(kind_dir(*kind));
  applied_[seq] = type + " " + dir + "/" + id;
  auto& by_id = state[dir];
  if (type == "added" || type == "modified" || type == "snapshot") {
    if (type == "added" && by_id.contains(id)) {
      problem("'added' for " + dir + "/" + id + " at seq " + std::to_string(seq) +
              ", which the subscriber already holds: its removal was missed");
    }
    by_id[id] = data->get_object();
  } else if (type == "removed") {
    by_id.erase(id);
  } else if (type != "expired") {
    problem("an event of unknown type: " + describe(event));
  }
}

void StreamChecker::on_snapshot_end(const json::object& line) {
  std::uint64_t seq = seq_of(line);
  if (phase_ != Phase::kSnapshot) problem("snapshot_end outside a snapshot: " + describe(line));
  if (seq_of(line, "sub") != sub_) problem("snapshot_end for another sub: " + describe(line));
  if (seq != subscribed_seq_) {
    problem("snapshot_end seq " + std::to_string(seq) + " differs from the subscribed seq " +
            std::to_string(subscribed_seq_));
  }
  const json::value* resync = line.if_contains("resync");
  bool marked = resync && *resync == true;
  if (marked != expect_resync_) {
    problem(expect_resync_ ? "the snapshot after a refused resume ends without resync:true"
                           : "a fresh subscription's snapshot_end says resync:true");
  }
  on_bookmark(seq, "snapshot_end");
  state_ = std::move(snapshot_);
  snapshot_.clear();
  has_state_ = true;
  lag_.reset();
  applied_through_ = seq;
  phase_ = Phase::kLive;
}

void StreamChecker::on_bookmark(std::uint64_t seq, std::string_view what) {
  if (what == "synced" && phase_ == Phase::kSnapshot) problem("synced arrived before snapshot_end");
  if (seq < last_seq_) {
    problem(std::string(what) + " seq " + std::to_string(seq) + " arrived after seq " +
            std::to_string(last_seq_) + ": a bookmark fell below an event it follows");
  }
  last_seq_ = std::max(last_seq_, seq);
  // A bookmark does not vouch for a range already reported dropped.
  if (!lag_ && phase_ == Phase::kLive) applied_through_ = std::max(applied_through_, seq);
  ends_in_bookmark_ = true;
}

void StreamChecker::on_lagged(const json::object& line) {
  ++lag_markers_;
  ends_in_bookmark_ = false;
  std::uint64_t from = seq_of(line, "from_seq");
  std::uint64_t to = seq_of(line, "to_seq");
  if (seq_of(line, "sub") != sub_) problem("a lagged marker for another sub: " + describe(line));
  if (phase_ != Phase::kLive) problem("a lagged marker outside the live phase: " + describe(line));
  if (from == 0 || from > to) problem("a lagged marker with an empty range: " + describe(line));
  if (from <= last_seq_) {
    problem("a lagged marker covers seq " + std::to_string(from) + ".." + std::to_string(to) +
            ", but seq " + std::to_string(last_seq_) + " was already delivered");
  }
  const json::value* dropped = line.if_contains("dropped");
  if (dropped && !dropped->is_null()) {
    std::uint64_t n = dropped->to_number<std::uint64_t>();
    if (n == 0 || n > to - from + 1) {
      problem("a lagged marker claims " + std::to_string(n) + " dropped in a range of " +
              std::to_string(to - from + 1) + " seqs");
    }
  }
  if (!lag_) {
    lag_ = Lag{from, to};
  } else {
    lag_->to_seq = std::max(lag_->to_seq, to);
  }
  last_seq_ = std::max(last_seq_, to);
}

void StreamChecker::problem(std::string text) { problems_.push_back(std::move(text)); }

std::vector<std::string> StreamChecker::verify(const RecordsByKind& expected) const {
  std::vector<std::string> out = problems_;
  if (phase_ == Phase::kUnsubscribed) out.push_back("the subscriber never subscribed");
  if (phase_ == Phase::kSnapshot) out.push_back("the last snapshot never reached snapshot_end");
  if (lag_) {
    out.push_back("lagged over seq " + std::to_string(lag_->from_seq) + ".." +
                  std::to_string(lag_->to_seq) + " and never resumed or resynced");
  }
  if (!ends_in_bookmark_) {
    out.push_back(
        "the stream does not end in a bookmark (synced or snapshot_end), so nothing "
        "vouches for its final state");
  }
  if (phase_ != Phase::kLive || lag_) return out;

  std::vector<std::string> differ = differences(state_, expected);
  out.insert(out.end(), differ.begin(), differ.end());
  return out;
}

}  // namespace coordd::lossless
