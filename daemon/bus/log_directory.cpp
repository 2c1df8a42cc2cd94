#include "daemon/bus/log_directory.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace coordd {
namespace {

std::string errno_text() { return std::strerror(errno); }

Status failed(const std::string& what) {
  return Status::error("log_failed", what + ": " + errno_text());
}

// The state directory holds what agents said to each other: it must be ours
// alone, as the socket's directory is.
Status secure(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return failed("cannot inspect state directory " + path);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return failed("cannot create state directory " + path);
    }
    if (::lstat(path.c_str(), &st) != 0) return failed("cannot inspect state directory " + path);
  }
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
    return Status::error("bad_state_dir", "state directory " + path +
                                              " is not a directory (or is a symlink); remove it "
                                              "or pick another --state-dir");
  }
  if (st.st_uid != ::geteuid()) {
    return Status::error("bad_state_dir", "state directory " + path + " is owned by uid " +
                                              std::to_string(st.st_uid) + ", not by us (uid " +
                                              std::to_string(::geteuid()) +
                                              "); pick another --state-dir");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", unsigned(st.st_mode & 0777));
    return Status::error("bad_state_dir", "state directory " + path +
                                              " is writable by group or others (mode " + mode +
                                              "); run chmod 700 on it or pick another --state-dir");
  }
  return Status();
}

}  // namespace

Result<std::unique_ptr<DiskLogDirectory>> DiskLogDirectory::open(const std::string& path) {
  if (Status ok = secure(path); !ok.ok()) return ok;
  int dir_fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) return failed("cannot open state directory " + path);
  int lock_fd = ::openat(dir_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    Status error = failed("cannot open " + path + "/lock");
    ::close(dir_fd);
    return error;
  }
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lock_fd);
    ::close(dir_fd);
    if (err == EWOULDBLOCK) {
      return Status::error("state_dir_locked",
                           "another coordd uses the state directory " + path + " (it holds " +
                               path +
                               "/lock); stop it first, or give this one another --state-dir "
                               "(or --state-dir none)");
    }
    errno = err;
    return failed("cannot lock " + path + "/lock");
  }
  return std::unique_ptr<DiskLogDirectory>(new DiskLogDirectory(path, dir_fd, lock_fd));
}

DiskLogDirectory::~DiskLogDirectory() {
  if (open_fd_ >= 0) ::close(open_fd_);
  ::close(lock_fd_);  // releases the lock
  ::close(dir_fd_);
}

Result<std::vector<std::string>> DiskLogDirectory::list() {
  int fd = ::openat(dir_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failed("cannot list " + path_);
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    Status error = failed("cannot list " + path_);
    ::close(fd);
    return error;
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_type == DT_REG || entry->d_type == DT_UNKNOWN) names.emplace_back(entry->d_name);
  }
  ::closedir(dir);
  return names;
}

Result<std::string> DiskLogDirectory::read(const std::string& name) {
  int fd = ::openat(dir_fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return failed("cannot open " + path_ + "/" + name);
  std::string bytes;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = failed("cannot read " + path_ + "/" + name);
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    bytes.append(buffer, std::size_t(n));
  }
  ::close(fd);
  return bytes;
}

int DiskLogDirectory::append_fd(const std::string& name) {
  if (open_fd_ >= 0 && open_name_ == name) return open_fd_;
  if (open_fd_ >= 0) ::close(open_fd_);
  open_fd_ =
      ::openat(dir_fd_, name.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  open_name_ = open_fd_ >= 0 ? name : std::string();
  return open_fd_;
}

Status DiskLogDirectory::append(const std::string& name, std::string_view bytes, bool sync) {
  int fd = append_fd(name);
  if (fd < 0) return failed("cannot open " + path_ + "/" + name);
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed("cannot write " + path_ + "/" + name);
    bytes.remove_prefix(std::size_t(n));
  }
  if (sync && ::fdatasync(fd) != 0) return failed("cannot sync " + path_ + "/" + name);
  return Status();
}

Result<std::size_t> DiskLogDirectory::size(const std::string& name) {
  struct stat st {};
  if (::fstatat(dir_fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::size_t(0);
    return failed("cannot inspect " + path_ + "/" + name);
  }
  return std::size_t(st.st_size);
}

Status DiskLogDirectory::remove(const std::string& name) {
  if (name == open_name_) {
    ::close(open_fd_);
    open_fd_ = -1;
    open_name_.clear();
  }
  if (::unlinkat(dir_fd_, name.c_str(), 0) != 0 && errno != ENOENT) {
    return failed("cannot remove " + path_ + "/" + name);
  }
  return Status();
}

}  // namespace coordd
