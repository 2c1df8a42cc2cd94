// MessageLog: the MessageStore of one machine, a write-ahead log of targeted
// messages in the state directory (LogDirectory). Segments
// `messages-<n>.log` hold one entry per line, `<length> <crc32> <json>\n`,
// where the JSON is {"put":id,"to":..,"from":..,"sent_us":..,"message":{..}}
// or {"done":id}; a line whose length, checksum or JSON is wrong (a torn
// tail after a crash) is counted, warned about and skipped, never
// misparsed. Each run appends to a fresh segment. Segments are removed
// oldest first once no message in them is waiting; when the files hold more
// than twice the waiting messages (plus two segments), the waiting entries of
// the oldest segment are copied forward so it can go. Reactor thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/bus/log_directory.hpp"
#include "daemon/bus/message_store.hpp"

namespace coordd {

// A new segment is started once the current one is this large.
inline constexpr std::size_t kMessageLogSegmentBytes = 4u << 20;

struct MessageLogOptions {
  // fdatasync before `sent`: the message survives power loss, not only a
  // killed coordd. Settling is never synced (at worst a message is delivered
  // again after power loss).
  bool fsync = true;
  // The most the segments may hold; a send beyond it gets log_full.
  std::size_t max_bytes = 2 * (256u << 20) + 8 * kMessageLogSegmentBytes;
  std::size_t segment_bytes = kMessageLogSegmentBytes;
};

class MessageLog final : public MessageStore {
 public:
  // Reads every segment in `dir`. Damage (an unreadable file, a bad entry)
  // is warned about and skipped: the log keeps what is valid.
  MessageLog(std::unique_ptr<LogDirectory> dir, MessageLogOptions options);
  MessageLog(const MessageLog&) = delete;
  MessageLog& operator=(const MessageLog&) = delete;

  std::vector<StoredMessage> take_recovered() override;
  Result<std::uint64_t> record(const StoredMessage& message) override;
  void settle(std::uint64_t id) override;
  boost::json::object describe() const override;

  std::size_t waiting() const { return live_.size(); }
  std::size_t disk_bytes() const { return disk_bytes_; }
  std::size_t segments() const { return segments_.size(); }
  std::uint64_t bad_entries() const { return bad_entries_; }

 private:
  struct Segment {
    std::size_t bytes = 0;
    std::size_t live = 0;  // waiting messages whose newest copy is here
  };
  struct Live {
    std::uint64_t segment;
    std::size_t bytes;
  };

  void load();
  void load_segment(std::uint64_t number, const std::string& bytes);
  // Appends one entry to the current segment, starting a new one when it is
  // full or after a failed write (so a torn line is never followed by more).
  Status append(const std::string& line, bool sync);
  void place(std::uint64_t id, std::uint64_t segment, std::size_t bytes);
  // Removes the oldest segments while nothing waits in them.
  void collect();
  // Copies the oldest segment's waiting entries forward, then removes it.
  void compact();

  std::unique_ptr<LogDirectory> dir_;
  MessageLogOptions options_;
  std::map<std::uint64_t, Segment> segments_;  // by number; the last is appended to
  std::map<std::uint64_t, Live> live_;         // waiting messages, by id
  std::vector<StoredMessage> recovered_;
  std::uint64_t next_id_ = 1;
  std::size_t live_bytes_ = 0;
  std::size_t disk_bytes_ = 0;
  std::uint64_t bad_entries_ = 0;
  std::uint64_t unreadable_files_ = 0;
  std::uint64_t write_errors_ = 0;
  std::uint64_t compactions_ = 0;
};

}  // namespace coordd
