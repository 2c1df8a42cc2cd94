#include "daemon/bus/message_log.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/crc.hpp>
#include <boost/json.hpp>
#include <charconv>

#include "daemon/bus/agent_message.hpp"

namespace coordd {
namespace json = boost::json;
namespace {

constexpr std::string_view kPrefix = "messages-";
constexpr std::string_view kSuffix = ".log";

std::string segment_name(std::uint64_t number) {
  char digits[21];
  std::snprintf(digits, sizeof digits, "%08llu", static_cast<unsigned long long>(number));
  return std::string(kPrefix) + digits + std::string(kSuffix);
}

std::optional<std::uint64_t> segment_number(std::string_view name) {
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  std::string_view digits =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
    return std::nullopt;
  return number;
}

std::uint32_t checksum(std::string_view payload) {
  boost::crc_32_type crc;
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

// `<length> <crc32> <json>\n`. Serialized JSON escapes control characters, so
// the payload never holds a newline.
std::string encode(const json::object& entry) {
  std::string payload = json::serialize(entry);
  char head[32];
  int n = std::snprintf(head, sizeof head, "%zu %08x ", payload.size(), checksum(payload));
  return std::string(head, std::size_t(n)) + payload + "\n";
}

// The entry of one line (without its '\n'), or nullopt when the line is not
// one this log wrote whole.
std::optional<json::object> decode(std::string_view line) {
  std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::size_t length = 0;
  auto [end, ec] = std::from_chars(line.data(), line.data() + space, length);
  if (ec != std::errc() || end != line.data() + space) return std::nullopt;
  std::string_view rest = line.substr(space + 1);
  if (rest.size() < 9 || rest[8] != ' ') return std::nullopt;
  std::uint32_t crc = 0;
  auto [crc_end, crc_ec] = std::from_chars(rest.data(), rest.data() + 8, crc, 16);
  if (crc_ec != std::errc() || crc_end != rest.data() + 8) return std::nullopt;
  std::string_view payload = rest.substr(9);
  if (payload.size() != length || checksum(payload) != crc) return std::nullopt;
  boost::system::error_code parse_ec;
  json::value value = json::parse(payload, parse_ec);
  if (parse_ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

std::optional<std::uint64_t> id_field(const json::object& entry, std::string_view name) {
  auto it = entry.find(name);
  if (it == entry.end()) return std::nullopt;
  if (it->value().is_uint64()) return it->value().get_uint64();
  if (it->value().is_int64() && it->value().get_int64() > 0) return it->value().get_int64();
  return std::nullopt;
}

// A put entry as a StoredMessage, or nullopt when a field is missing or wrong.
std::optional<StoredMessage> stored_message(const json::object& entry, std::uint64_t id) {
  StoredMessage stored;
  stored.id = id;
  const json::value* to = entry.if_contains("to");
  const json::value* from = entry.if_contains("from");
  const json::value* sent = entry.if_contains("sent_us");
  const json::value* message = entry.if_contains("message");
  if (!to || !to->is_string() || !is_valid_agent_id(to->get_string())) return std::nullopt;
  if (!from || !(from->is_null() || (from->is_string() && is_valid_agent_id(from->get_string()))))
    return std::nullopt;
  if (!sent || !sent->is_int64() || !message || !message->is_object()) return std::nullopt;
  stored.to = std::string(to->get_string());
  if (from->is_string()) stored.from = std::string(from->get_string());
  stored.sent_at = WallTime(std::chrono::microseconds(sent->get_int64()));
  stored.message = message->get_object();
  return stored;
}

}  // namespace

MessageLog::MessageLog(std::unique_ptr<LogDirectory> dir, MessageLogOptions options)
    : dir_(std::move(dir)), options_(options) {
  load();
}

void MessageLog::load() {
  Result<std::vector<std::string>> names = dir_->list();
  if (!names.ok()) {
    spdlog::warn("message log: {}; starting without the messages of earlier runs",
                 names.status().message());
    ++unreadable_files_;
  }
  std::vector<std::uint64_t> numbers;
  if (names.ok()) {
    for (const std::string& name : *names) {
      if (auto number = segment_number(name)) numbers.push_back(*number);
    }
  }
  std::sort(numbers.begin(), numbers.end());
  std::map<std::uint64_t, StoredMessage> waiting;
  std::uint64_t newest = 0;
  for (std::uint64_t number : numbers) {
    newest = number;
    Result<std::string> bytes = dir_->read(segment_name(number));
    if (!bytes.ok()) {
      // Left in place and out of the log: never removed, never appended to.
      spdlog::warn("message log: {}; the messages in it are not delivered",
                   bytes.status().message());
      ++unreadable_files_;
      continue;
    }
    segments_[number].bytes = bytes->size();
    disk_bytes_ += bytes->size();
    std::string_view text = *bytes;
    std::size_t offset = 0;
    while (offset < text.size()) {
      std::size_t end = text.find('\n', offset);
      std::string_view line = text.substr(
          offset, end == std::string_view::npos ? std::string_view::npos : end - offset);
      std::optional<json::object> entry;
      if (end != std::string_view::npos) entry = decode(line);
      std::optional<std::uint64_t> put = entry ? id_field(*entry, "put") : std::nullopt;
      std::optional<std::uint64_t> done = entry ? id_field(*entry, "done") : std::nullopt;
      std::optional<StoredMessage> stored = put ? stored_message(*entry, *put) : std::nullopt;
      if (stored) {
        next_id_ = std::max(next_id_, *put + 1);
        waiting[*put] = std::move(*stored);
        auto old = live_.find(*put);
        if (old != live_.end()) live_bytes_ -= old->second.bytes;
        live_[*put] = Live{number, line.size() + 1};
        live_bytes_ += line.size() + 1;
      } else if (done) {
        next_id_ = std::max(next_id_, *done + 1);
        waiting.erase(*done);
        if (auto it = live_.find(*done); it != live_.end()) {
          live_bytes_ -= it->second.bytes;
          live_.erase(it);
        }
      } else {
        ++bad_entries_;
        spdlog::warn("message log: {}/{} holds a damaged entry at byte {} ({}); skipped",
                     dir_->path(), segment_name(number), offset,
                     end == std::string_view::npos ? "a torn tail: no end of line"
                                                   : "its length, checksum or fields are wrong");
      }
      if (end == std::string_view::npos) break;
      offset = end + 1;
    }
  }
  for (const auto& [id, where] : live_) ++segments_[where.segment].live;
  for (auto& [id, stored] : waiting) recovered_.push_back(std::move(stored));
  segments_[newest + 1];  // this run's, made by its first append
  collect();
}

std::vector<StoredMessage> MessageLog::take_recovered() { return std::move(recovered_); }

Status MessageLog::append(const std::string& line, bool sync) {
  auto current = std::prev(segments_.end());
  if (current->second.bytes > 0 && current->second.bytes + line.size() > options_.segment_bytes) {
    current = segments_.emplace_hint(segments_.end(), current->first + 1, Segment{});
  }
  Status written = dir_->append(segment_name(current->first), line, sync);
  if (!written.ok()) {
    ++write_errors_;
    // Part of the line may be in the file: whatever follows goes elsewhere.
    Result<std::size_t> size = dir_->size(segment_name(current->first));
    std::size_t now = size.ok() ? *size : current->second.bytes + line.size();
    disk_bytes_ += now - current->second.bytes;
    current->second.bytes = now;
    segments_.emplace_hint(segments_.end(), current->first + 1, Segment{});
    return written;
  }
  current->second.bytes += line.size();
  disk_bytes_ += line.size();
  return Status();
}

void MessageLog::place(std::uint64_t id, std::uint64_t segment, std::size_t bytes) {
  auto [it, added] = live_.try_emplace(id, Live{segment, bytes});
  if (!added) {
    --segments_[it->second.segment].live;
    live_bytes_ -= it->second.bytes;
    it->second = Live{segment, bytes};
  }
  ++segments_[segment].live;
  live_bytes_ += bytes;
}

Result<std::uint64_t> MessageLog::record(const StoredMessage& message) {
  if (disk_bytes_ > 2 * live_bytes_ + 2 * options_.segment_bytes) compact();
  std::uint64_t id = next_id_;
  json::object entry;
  entry["put"] = id;
  entry["to"] = message.to;
  entry["from"] = message.from ? json::value(*message.from) : json::value(nullptr);
  entry["sent_us"] = message.sent_at.time_since_epoch().count();
  entry["message"] = message.message;
  std::string line = encode(entry);
  if (disk_bytes_ + line.size() > options_.max_bytes) {
    return Status::error("log_full", "the message log in " + dir_->path() + " holds " +
                                         std::to_string(disk_bytes_) + " bytes, its bound; " +
                                         "retry once agents have read their messages");
  }
  Status written = append(line, options_.fsync);
  if (!written.ok()) {
    // It may be on the disk even so: say it is done, so a restart does not
    // deliver a message whose sender was told it failed.
    (void)append(encode(json::object{{"done", id}}), options_.fsync);
    ++next_id_;
    return Status::error("log_failed", written.message() +
                                           "; the message was not sent (free space in the state "
                                           "directory, or start coordd with --state-dir none)");
  }
  ++next_id_;
  place(id, std::prev(segments_.end())->first, line.size());
  return id;
}

void MessageLog::settle(std::uint64_t id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  if (Status written = append(encode(json::object{{"done", id}}), false); !written.ok()) {
    spdlog::warn("message log: {}; message {} may be delivered again after a restart",
                 written.message(), id);
  }
  --segments_[it->second.segment].live;
  live_bytes_ -= it->second.bytes;
  live_.erase(it);
  collect();
}

void MessageLog::collect() {
  // Oldest first: a done entry may only go once the put it settles is gone.
  while (segments_.size() > 1 && segments_.begin()->second.live == 0) {
    auto oldest = segments_.begin();
    if (Status removed = dir_->remove(segment_name(oldest->first)); !removed.ok()) {
      spdlog::warn("message log: {}", removed.message());
      return;
    }
    disk_bytes_ -= oldest->second.bytes;
    segments_.erase(oldest);
  }
}

void MessageLog::compact() {
  if (segments_.size() < 2) return;
  std::uint64_t oldest = segments_.begin()->first;
  Result<std::string> bytes = dir_->read(segment_name(oldest));
  if (!bytes.ok()) {
    spdlog::warn("message log: cannot compact: {}", bytes.status().message());
    return;
  }
  std::string_view text = *bytes;
  for (std::size_t offset = 0, end; (end = text.find('\n', offset)) != std::string_view::npos;
       offset = end + 1) {
    std::string_view line = text.substr(offset, end - offset);
    std::optional<json::object> entry = decode(line);
    std::optional<std::uint64_t> put = entry ? id_field(*entry, "put") : std::nullopt;
    auto it = put ? live_.find(*put) : live_.end();
    if (it == live_.end() || it->second.segment != oldest) continue;
    std::string copy = std::string(line) + "\n";
    if (Status written = append(copy, false); !written.ok()) {
      spdlog::warn("message log: cannot compact: {}", written.message());
      return;
    }
    place(*put, std::prev(segments_.end())->first, copy.size());
  }
  // The copies must be on the disk before the originals go.
  if (options_.fsync) {
    if (Status synced = append("", true); !synced.ok()) return;
  }
  ++compactions_;
  collect();
}

json::object MessageLog::describe() const {
  json::object out;
  out["dir"] = dir_->path();
  out["fsync"] = options_.fsync;
  out["messages"] = live_.size();
  out["segments"] = segments_.size();
  out["bytes"] = disk_bytes_;
  out["max_bytes"] = options_.max_bytes;
  out["bad_entries"] = bad_entries_;
  out["unreadable_files"] = unreadable_files_;
  out["write_errors"] = write_errors_;
  out["compactions"] = compactions_;
  return out;
}

}  // namespace coordd
