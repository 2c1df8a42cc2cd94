// FakeLogDirectory: a LogDirectory in memory that records what was asked of
// it (appends, syncs) and can fail the next append after writing part of it,
// as a full disk or a crash mid-write would. Its files outlive the log that
// used them (they are shared), so a test can "restart" on the same files.
// One thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "daemon/bus/log_directory.hpp"

namespace coordd::testing {

struct FakeFiles {
  std::map<std::string, std::string> files;
  std::size_t syncs = 0;
  std::size_t appends = 0;
  // When set, the next append writes this many bytes of its line and fails.
  std::optional<std::size_t> fail_next_after;
};

class FakeLogDirectory final : public LogDirectory {
 public:
  explicit FakeLogDirectory(std::shared_ptr<FakeFiles> files) : files_(std::move(files)) {}

  const std::string& path() const override { return path_; }
  Result<std::vector<std::string>> list() override {
    std::vector<std::string> names;
    for (const auto& [name, bytes] : files_->files) names.push_back(name);
    return names;
  }
  Result<std::string> read(const std::string& name) override {
    auto it = files_->files.find(name);
    if (it == files_->files.end()) return Status::error("log_failed", "no " + name);
    return it->second;
  }
  Status append(const std::string& name, std::string_view bytes, bool sync) override {
    ++files_->appends;
    if (files_->fail_next_after) {
      files_->files[name].append(bytes.substr(0, *files_->fail_next_after));
      files_->fail_next_after.reset();
      return Status::error("log_failed", "cannot write " + name + ": No space left on device");
    }
    files_->files[name].append(bytes);
    if (sync) ++files_->syncs;
    return Status();
  }
  Result<std::size_t> size(const std::string& name) override {
    auto it = files_->files.find(name);
    return it == files_->files.end() ? std::size_t(0) : it->second.size();
  }
  Status remove(const std::string& name) override {
    files_->files.erase(name);
    return Status();
  }

 private:
  std::shared_ptr<FakeFiles> files_;
  std::string path_ = "/fake/state";
};

}  // namespace coordd::testing
