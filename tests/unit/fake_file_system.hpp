// FakeFileSystem: an in-memory FileSystem for engine tests. Files are regular
// files, FIFOs, symlinks or "too large" files (a declared size with no bytes);
// directories exist explicitly or as parents of what was written. It answers
// as daemon/engine/file_system.hpp's contracts say, records every path read_file was
// asked for, and can be told that a path fails with an I/O error. Tests call
// remove_file() to delete a file behind the engine's back.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "daemon/engine/file_system.hpp"

namespace coordd::testing {

class FakeFileSystem final : public FileSystem {
 public:
  enum class NodeKind { kRegular, kFifo, kSymlink, kTooLarge };

  // Creates or replaces a regular file (and its parent directories); each
  // write gets a new mtime, as a real rewrite would.
  void write(const std::string& path, std::string content) {
    put(path, NodeKind::kRegular, std::move(content), 0);
  }
  void make_fifo(const std::string& path) { put(path, NodeKind::kFifo, "", 0); }
  void make_symlink(const std::string& path) { put(path, NodeKind::kSymlink, "", 0); }
  // A regular file of `size` bytes whose content the test never needs.
  void make_too_large(const std::string& path, std::int64_t size) {
    put(path, NodeKind::kTooLarge, "", size);
  }
  void make_dir(const std::string& path) {
    for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      dirs_.insert(path.substr(0, slash));
    }
    dirs_.insert(path);
  }
  // Removes a directory and everything below it.
  void remove_tree(const std::string& path) {
    std::string prefix = path + "/";
    std::erase_if(files_, [&](const auto& entry) { return entry.first.starts_with(prefix); });
    std::erase_if(dirs_,
                  [&](const std::string& dir) { return dir == path || dir.starts_with(prefix); });
    files_.erase(path);
  }
  // Every call on `path` fails with kError (EIO) until heal(path).
  void break_path(const std::string& path) { broken_.insert(path); }
  void heal(const std::string& path) { broken_.erase(path); }

  // The paths read_file was called with, oldest first.
  const std::vector<std::string>& reads() const { return reads_; }
  void clear_reads() { reads_.clear(); }

  ReadResult read_file(const std::string& path, std::size_t max_bytes) override {
    reads_.push_back(path);
    ReadResult result;
    if (broken_.contains(path)) return error_result<ReadResult>();
    auto it = files_.find(path);
    if (it == files_.end()) {
      result.status = dirs_.contains(path) ? ReadStatus::kNotRegular : ReadStatus::kMissing;
      return result;
    }
    const Node& node = it->second;
    switch (node.kind) {
      case NodeKind::kSymlink:
        result.status = ReadStatus::kSymlink;
        return result;  // never fstat'ed
      default:
        result.stamp = node.stamp;
        break;  // as DiskFileSystem's fstat
    }
    switch (node.kind) {
      case NodeKind::kSymlink:
        return result;
      case NodeKind::kFifo:
        result.status = ReadStatus::kNotRegular;
        return result;
      case NodeKind::kTooLarge:
      case NodeKind::kRegular:
        break;
    }
    if (std::size_t(node.stamp.size) > max_bytes) {
      result.status = ReadStatus::kTooLarge;
      return result;
    }
    result.status = ReadStatus::kOk;
    result.bytes = node.content;
    result.stamp = node.stamp;
    return result;
  }

  DirListing list_dir(const std::string& path, bool with_stamps) override {
    DirListing listing;
    if (broken_.contains(path)) return error_result<DirListing>();
    listing.path = path;
    listing.status = probe_dir(path);
    if (listing.status != DirStatus::kOk) return listing;
    std::string prefix = path + "/";
    for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.starts_with(prefix);
         ++it) {
      std::string name = it->first.substr(prefix.size());
      if (name.find('/') != std::string::npos) continue;
      bool regular =
          it->second.kind == NodeKind::kRegular || it->second.kind == NodeKind::kTooLarge;
      listing.entries.push_back(
          DirEntry{name, with_stamps ? it->second.stamp : FileStamp{}, regular});
    }
    for (auto it = dirs_.lower_bound(prefix); it != dirs_.end() && it->starts_with(prefix); ++it) {
      std::string name = it->substr(prefix.size());
      if (name.find('/') == std::string::npos) listing.entries.push_back(DirEntry{name, {}, false});
    }
    return listing;
  }

  DirStatus probe_dir(const std::string& path) override {
    if (broken_.contains(path)) return DirStatus::kError;
    if (auto it = files_.find(path); it != files_.end()) {
      return it->second.kind == NodeKind::kSymlink ? DirStatus::kSymlink : DirStatus::kNotDirectory;
    }
    return dirs_.contains(path) ? DirStatus::kOk : DirStatus::kMissing;
  }

  Status create_file(const std::string& path) override {
    if (broken_.contains(path)) return Status::error("io", "Input/output error");
    if (files_.contains(path) || dirs_.contains(path)) return Status::error("io", "File exists");
    if (!dirs_.contains(path.substr(0, path.rfind('/')))) {
      return Status::error("io", "No such file or directory");
    }
    write(path, "");
    return Status();
  }

  // Removes one file (not a directory); a missing file is not an error.
  void remove_file(const std::string& path) override { files_.erase(path); }

  Status replace_file(const std::string& path, std::string_view bytes,
                      bool only_if_absent) override {
    if (broken_.contains(path)) return Status::error("io", "Input/output error");
    if (dirs_.contains(path)) return Status::error("io", "Is a directory");
    if (only_if_absent && files_.contains(path)) return Status::error("exists", path + " exists");
    write(path, std::string(bytes));
    return Status();
  }

 private:
  struct Node {
    NodeKind kind;
    std::string content;
    FileStamp stamp;
  };

  void put(const std::string& path, NodeKind kind, std::string content, std::int64_t size) {
    make_dir(path.substr(0, path.rfind('/')));
    auto existing = files_.find(path);
    std::uint64_t inode = existing != files_.end() ? existing->second.stamp.inode : ++last_inode_;
    ++last_mtime_ns_;
    std::int64_t bytes = kind == NodeKind::kTooLarge ? size : std::int64_t(content.size());
    files_[path] = Node{kind, std::move(content), FileStamp{last_mtime_ns_, bytes, inode}};
  }

  template <typename Result>
  static Result error_result() {
    Result result;
    result.error = "Input/output error";
    if constexpr (std::is_same_v<Result, ReadResult>) {
      result.status = ReadStatus::kError;
    } else {
      result.status = DirStatus::kError;
    }
    return result;
  }

  std::map<std::string, Node> files_;
  std::set<std::string> dirs_;
  std::set<std::string> broken_;
  std::vector<std::string> reads_;
  std::uint64_t last_inode_ = 0;
  std::int64_t last_mtime_ns_ = 0;
};

}  // namespace coordd::testing
