// InotifyQueueLimit: lowers /proc/sys/fs/inotify/max_queued_events for a
// moment and puts the saved value back on destruction, even when the test
// fails. The limit is read at inotify_init, so a daemon started while it is
// lowered keeps the tiny queue for its whole life while everything started
// after the restore gets the normal one again. The knob is system-wide: keep
// the window to one daemon start. Needs root; main thread.
#pragma once

#include <optional>
#include <string>

namespace coordd::lossless {

class InotifyQueueLimit {
 public:
  // Lowers the limit to `events`; ok() says whether that worked (it needs
  // root and a writable /proc/sys), why_not() why it did not.
  explicit InotifyQueueLimit(unsigned events);
  ~InotifyQueueLimit();
  InotifyQueueLimit(const InotifyQueueLimit&) = delete;
  InotifyQueueLimit& operator=(const InotifyQueueLimit&) = delete;

  bool ok() const { return lowered_; }
  const std::string& why_not() const { return why_not_; }
  // Puts the saved value back now; the destructor then does nothing.
  void restore();

 private:
  std::optional<std::string> saved_;  // until restored
  bool lowered_ = false;
  std::string why_not_;
};

}  // namespace coordd::lossless
