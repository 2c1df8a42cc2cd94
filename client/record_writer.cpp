#include "client/record_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "client/daemon_connection.hpp"
#include "proto/display.hpp"

namespace coordd {

void add_writer_options(CLI::App* sub, bool& json, std::optional<std::string>& root,
                        std::string& socket, double& timeout) {
  sub->add_flag("-j,--json", json, "Print the record written instead of its id.");
  sub->add_option_function<std::string>(
         "--root", [&root](const std::string& v) { root = v; },
         "Repository. Default: $MUSE_REPO_ROOT, else the nearest ancestor holding .muse/.")
      ->type_name("DIR");
  add_socket_option(sub, socket);
  add_timeout_option(sub, timeout);
}
namespace {

Status os_error(const std::string& what, const std::string& path) {
  return Status::error("io_error", what + " " + path + ": " + std::strerror(errno));
}

// A directory that must be a real directory (never a symlink), made if
// missing when `create`.
Status require_directory(const std::string& path, bool create) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT || !create) return os_error("cannot open", path);
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return os_error("cannot create", path);
    }
    if (::lstat(path.c_str(), &st) != 0) return os_error("cannot open", path);
  }
  if (S_ISLNK(st.st_mode)) {
    return Status::error("symlink_refused",
                         path +
                             " is a symlink; refusing to write through it (as coordd refuses "
                             "to watch it): make it a directory");
  }
  if (!S_ISDIR(st.st_mode)) return Status::error("io_error", path + " is not a directory");
  return Status();
}

Status write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::error("io_error", std::strerror(errno));
    done += std::size_t(n);
  }
  return Status();
}

}  // namespace

Result<std::string> write_record(const std::string& root, const MuseRecord& record) {
  const std::string muse = root + "/.muse";
  const std::string coordination = muse + "/coordination";
  const std::string dir = coordination + "/" + std::string(kind_dir(record.kind));
  for (const auto& [path, create] : {std::pair{muse, false}, {coordination, true}, {dir, true}}) {
    if (Status status = require_directory(path, create); !status.ok()) return status;
  }
  const std::string target = dir + "/" + record.id + ".json";
  struct stat st {};
  if (::lstat(target.c_str(), &st) == 0) {
    return Status::error("exists", target + " exists already; not overwriting it");
  }

  std::string temp = dir + "/." + record.id + ".json.XXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) return os_error("cannot create a temporary file in", dir);
  temp.assign(name.data());
  // mkstemp makes it 0600; a record is for every agent, so 0666 less the umask.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  Status written = write_all(fd, muse_file_text(record.data));
  if (written.ok() && ::fsync(fd) != 0) written = os_error("cannot flush", temp);
  if (::close(fd) != 0 && written.ok()) written = os_error("cannot close", temp);
  if (written.ok() && ::rename(temp.c_str(), target.c_str()) != 0) {
    written = os_error("cannot rename into", target);
  }
  if (!written.ok()) {
    ::unlink(temp.c_str());
    return Status::error(written.code(), "writing " + target + " failed: " + written.message());
  }
  return target;
}

void print_written(const MuseRecord& record, bool json) {
  if (json) {
    std::printf("%s\n", muse_file_text(record.data).c_str());
  } else {
    std::printf("%s\n", record.id.c_str());
  }
}

int fail_with(int exit_code, const std::string& message) {
  std::fprintf(stderr, "❌ %s\n", strip_control(message).c_str());
  return exit_code;
}

}  // namespace coordd
