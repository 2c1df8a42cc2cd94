// FakeVnodeApi: an in-memory VnodeApi for KqueueLogic tests. A path is a
// directory, a symlink or a file as the test declares it; anything else is
// missing. It hands out handles 100, 101, ... and records what was asked of
// it: every path it was asked to open, every handle registered for events and
// every handle closed. It can be given a descriptor limit, or told to refuse
// registrations.
#pragma once

#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/watch/vnode_api.hpp"

namespace coordd::testing {

class FakeVnodeApi final : public VnodeApi {
 public:
  enum class Node { kDirectory, kSymlink, kFile };

  void make_dir(const std::string& path) { nodes_[path] = Node::kDirectory; }
  void make_symlink(const std::string& path) { nodes_[path] = Node::kSymlink; }
  void make_file(const std::string& path) { nodes_[path] = Node::kFile; }
  // Removes `path` and everything below it; open handles stay open, as a
  // descriptor outlives its directory's name.
  void remove(const std::string& path) {
    std::erase_if(nodes_, [&](const auto& node) {
      return node.first == path || node.first.starts_with(path + "/");
    });
  }
  // Opens fail with kExhausted (EMFILE) once `count` handles are open.
  void limit_open_handles(std::size_t count) { handle_limit_ = count; }
  // watch() fails with this text while it is not empty.
  void refuse_watches(std::string error) { watch_error_ = std::move(error); }

  // The handle open on `path`, if any.
  std::optional<VnodeHandle> handle_of(const std::string& path) const {
    for (const auto& [handle, open_path] : open_) {
      if (open_path == path) return handle;
    }
    return std::nullopt;
  }
  // Every path with an open handle, sorted.
  std::vector<std::string> open_paths() const {
    std::set<std::string> paths;
    for (const auto& [handle, path] : open_) paths.insert(path);
    return {paths.begin(), paths.end()};
  }
  // Every path open_directory was called with, oldest first.
  const std::vector<std::string>& attempts() const { return attempts_; }
  // The paths opened successfully, oldest first.
  const std::vector<std::string>& opened() const { return opened_; }
  const std::set<VnodeHandle>& watched() const { return watched_; }
  const std::vector<VnodeHandle>& closed() const { return closed_; }

  OpenResult open_directory(const std::string& path) override {
    attempts_.push_back(path);
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return {OpenStatus::kMissing, -1, ""};
    if (it->second == Node::kSymlink) return {OpenStatus::kSymlink, -1, ""};
    if (it->second == Node::kFile) return {OpenStatus::kNotDirectory, -1, ""};
    if (open_.size() >= handle_limit_) return {OpenStatus::kExhausted, -1, "Too many open files"};
    VnodeHandle handle = next_handle_++;
    open_[handle] = path;
    opened_.push_back(path);
    return {OpenStatus::kOk, handle, ""};
  }
  std::string watch(VnodeHandle handle) override {
    if (!watch_error_.empty()) return watch_error_;
    watched_.insert(handle);
    return "";
  }
  void close(VnodeHandle handle) override {
    open_.erase(handle);
    watched_.erase(handle);
    closed_.push_back(handle);
  }

 private:
  std::map<std::string, Node> nodes_;
  std::map<VnodeHandle, std::string> open_;
  std::vector<std::string> attempts_;
  std::vector<std::string> opened_;
  std::set<VnodeHandle> watched_;
  std::vector<VnodeHandle> closed_;
  VnodeHandle next_handle_ = 100;
  std::size_t handle_limit_ = std::numeric_limits<std::size_t>::max();
  std::string watch_error_;
};

}  // namespace coordd::testing
