// The --roots-file: the repositories to watch, one per line, and a few
// settings, re-read on SIGHUP. Pure parsing plus one read of the file (and a
// check that each path it names exists); any thread.
//
// Blank lines and lines starting with '#' are ignored. A line whose first
// word is a setting's keyword is that setting (`log-level LEVEL`, the cluster
// settings below; "KEYWORD VALUE" or "KEYWORD=VALUE"); to watch a directory
// named like a keyword, write it as ./NAME. Any other line is a repository:
//   PATH [repo-id=ID] [mirror]
// where the trailing whitespace-separated tokens that are exactly `mirror`
// or start with `repo-id=` are options and the rest of the line, spaces and
// all, is the path. Relative paths, the root's and the cluster files', are
// relative to the file's directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proto/status.hpp"

namespace coordd {

struct RootEntry {
  std::string path;                    // canonical absolute path
  std::optional<std::string> repo_id;  // repo-id=ID, valid per validate_repo_id
  bool mirror = false;                 // `mirror`
};

// Each is set only when the file has its line; each may appear once.
struct ClusterSettings {
  std::optional<std::vector<std::string>> urls;  // cluster URL[,URL...]: nats:// or tls://
  std::optional<std::string> name;               // cluster-name NAME (validate_cluster_name)
  std::optional<std::string> host_id;            // host-id ID (validate_host_id)
  // Canonical paths of existing files. cluster-tls-cert and -key come together.
  std::optional<std::string> creds_file;     // cluster-creds FILE
  std::optional<std::string> tls_ca_file;    // cluster-tls-ca FILE
  std::optional<std::string> tls_cert_file;  // cluster-tls-cert FILE
  std::optional<std::string> tls_key_file;   // cluster-tls-key FILE
};

struct RootsFile {
  std::vector<std::string> roots;        // canonical absolute paths: entries[i].path, in order
  std::vector<RootEntry> entries;        // the same roots with their options
  std::optional<std::string> log_level;  // trace|debug|info|warn|error; the last line wins
  ClusterSettings cluster;
};

// Reads and checks the file; a failure's message names the file and line
// (never a cluster URL's text: it may hold credentials).
Result<RootsFile> read_roots_file(const std::string& path);

}  // namespace coordd
