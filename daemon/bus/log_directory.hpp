// LogDirectory: the only way the MessageLog touches the disk (a directory of
// its own files), so tests can swap in a fake that tears writes or loses what
// was not synced. DiskLogDirectory is the real one: the state directory,
// created 0700, refused when it is a symlink, someone else's or writable by
// others, and locked (flock on <dir>/lock) so one coordd at a time uses it.
// Synchronous calls for small appends; reactor thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto/status.hpp"

namespace coordd {

class LogDirectory {
 public:
  virtual ~LogDirectory() = default;

  // For messages.
  virtual const std::string& path() const = 0;
  // The names of the regular files in the directory.
  virtual Result<std::vector<std::string>> list() = 0;
  // The whole content of `name`.
  virtual Result<std::string> read(const std::string& name) = 0;
  // Appends `bytes` to `name`, creating it (0600); with `sync`, its data is
  // on the disk (fdatasync) before this returns. A failed append may have
  // written part of `bytes`.
  virtual Status append(const std::string& name, std::string_view bytes, bool sync) = 0;
  // The size of `name` as appended so far.
  virtual Result<std::size_t> size(const std::string& name) = 0;
  // Removes `name`; a missing file is not an error.
  virtual Status remove(const std::string& name) = 0;
};

class DiskLogDirectory final : public LogDirectory {
 public:
  // Creates `path` (0700, parents as needed), checks it is ours alone and
  // takes its lock. The error says what to do (chmod, stop the other coordd,
  // pick another --state-dir).
  static Result<std::unique_ptr<DiskLogDirectory>> open(const std::string& path);
  ~DiskLogDirectory() override;
  DiskLogDirectory(const DiskLogDirectory&) = delete;
  DiskLogDirectory& operator=(const DiskLogDirectory&) = delete;

  const std::string& path() const override { return path_; }
  Result<std::vector<std::string>> list() override;
  Result<std::string> read(const std::string& name) override;
  Status append(const std::string& name, std::string_view bytes, bool sync) override;
  Result<std::size_t> size(const std::string& name) override;
  Status remove(const std::string& name) override;

 private:
  DiskLogDirectory(std::string path, int dir_fd, int lock_fd)
      : path_(std::move(path)), dir_fd_(dir_fd), lock_fd_(lock_fd) {}
  // The append fd of `name`, kept open while it is the file appended to.
  int append_fd(const std::string& name);

  std::string path_;
  int dir_fd_;
  int lock_fd_;
  std::string open_name_;
  int open_fd_ = -1;
};

}  // namespace coordd
