#include "daemon/engine/file_system.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace coordd {
namespace {

FileStamp stamp_of(const struct stat& st) {
  return FileStamp{std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                   std::int64_t(st.st_size), std::uint64_t(st.st_ino)};
}

// Closes a descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

ReadResult DiskFileSystem::read_file(const std::string& path, std::size_t max_bytes) {
  return read_at(AT_FDCWD, path.c_str(), max_bytes);
}

ReadResult DiskFileSystem::read_listed(const DirListing& listing, std::string_view name,
                                       std::size_t max_bytes) {
  if (!listing.dir_fd) return FileSystem::read_listed(listing, name, max_bytes);
  return read_at(*listing.dir_fd, std::string(name).c_str(), max_bytes);
}

ReadResult DiskFileSystem::read_at(int dir_fd, const char* name, std::size_t max_bytes) {
  ReadResult result;
  int fd = ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    result.status = err == ENOENT || err == ENOTDIR ? ReadStatus::kMissing
                    : err == ELOOP                  ? ReadStatus::kSymlink
                    : err == ENXIO                  ? ReadStatus::kNotRegular  // a socket
                                                    : ReadStatus::kError;
    result.error = std::strerror(err);
    return result;
  }
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    result.error = std::strerror(errno);
    return result;
  }
  result.stamp = stamp_of(st);
  if (!S_ISREG(st.st_mode)) {
    result.status = ReadStatus::kNotRegular;
    return result;
  }
  if (std::size_t(st.st_size) > max_bytes) {
    result.status = ReadStatus::kTooLarge;
    return result;
  }
  // Read until EOF but never past the limit: the file may grow while we read.
  result.bytes.resize(std::size_t(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == result.bytes.size()) {
      if (used > max_bytes) {
        result.status = ReadStatus::kTooLarge;
        result.bytes.clear();
        return result;
      }
      result.bytes.resize(std::min(result.bytes.size() * 2, max_bytes + 1));
    }
    ssize_t n = ::read(fd, result.bytes.data() + used, result.bytes.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result.error = std::strerror(errno);
      result.bytes.clear();
      return result;
    }
    if (n == 0) break;
    used += std::size_t(n);
    // A regular file gives less than asked only at its end: no second read
    // just to see 0.
    if (used < result.bytes.size()) break;
  }
  if (used > max_bytes) {
    result.status = ReadStatus::kTooLarge;
    result.bytes.clear();
    return result;
  }
  result.bytes.resize(used);
  result.stamp = stamp_of(st);
  result.status = ReadStatus::kOk;
  return result;
}

DirStatus DiskFileSystem::probe_dir(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT || errno == ENOTDIR ? DirStatus::kMissing : DirStatus::kError;
  }
  if (S_ISLNK(st.st_mode)) return DirStatus::kSymlink;
  if (!S_ISDIR(st.st_mode)) return DirStatus::kNotDirectory;
  return DirStatus::kOk;
}

DirListing DiskFileSystem::list_dir(const std::string& path, bool with_stamps) {
  DirListing listing;
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    listing.error = std::strerror(err);
    listing.status = err == ENOENT    ? DirStatus::kMissing
                     : err == ELOOP   ? DirStatus::kSymlink
                     : err == ENOTDIR ? probe_dir(path)
                                      : DirStatus::kError;
    return listing;
  }
  // The listing keeps its own descriptor: closedir() closes this one.
  int kept = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (kept >= 0) {
    listing.dir_fd = std::shared_ptr<const int>(new int(kept), [](const int* held) {
      ::close(*held);
      delete held;
    });
  }
  listing.path = path;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    listing.error = std::strerror(errno);
    listing.dir_fd.reset();
    ::close(fd);
    return listing;
  }
  while (struct dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    DirEntry out{std::string(name), {}, entry->d_type == DT_REG || entry->d_type == DT_UNKNOWN};
    if (with_stamps) {
      struct stat st {};
      if (::fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // raced away
      out.stamp = stamp_of(st);
      out.regular = S_ISREG(st.st_mode);
    }
    listing.entries.push_back(std::move(out));
  }
  ::closedir(dir);
  listing.status = DirStatus::kOk;
  return listing;
}

Status DiskFileSystem::create_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::error("io", "cannot create " + path + ": " + std::strerror(errno));
  ::close(fd);
  return Status();
}

void DiskFileSystem::remove_file(const std::string& path) { ::unlink(path.c_str()); }

}  // namespace coordd
