// The repo id (R) of a watched root when none is configured: the clone's
// `origin` URL, normalized so every clone of one repository agrees on it
// whatever the URL's spelling. Pure functions plus a few bounded file reads;
// any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace coordd {

// "host[:port]/path" for a remote URL: the scheme, userinfo (credentials),
// a default port (ssh 22, git 9418, http 80, https 443, ftp 21, ftps 990),
// a query or fragment, trailing '/'s and one trailing ".git" are dropped and
// the host is lowercased; the path keeps its case. Forms: scheme://...,
// scp-like [user@]host:path (':' before any '/'), and local paths:
// "/srv/git/r.git" and "file:///srv/git/r.git" both give "file/srv/git/r".
// nullopt for empty, relative-path, unknown-scheme or otherwise unusable URLs,
// and for a path holding '@' (a credential that slipped past the host part).
std::optional<std::string> normalize_remote_url(std::string_view url);

struct RepoIdResult {
  std::optional<std::string> id;  // a valid repo id (validate_repo_id), or none
  std::string why_not;            // when no id: one sentence saying why and what to do
  std::string source;             // when an id: where it came from (the config file)
};

// The largest .git/config derive_repo_id reads (1 MiB).
inline constexpr std::size_t kMaxGitConfigBytes = 1 << 20;

// Reads <root>/.git/config; or, when .git is a file ("gitdir: PATH", as in
// worktrees and submodules), that gitdir's config, or for a worktree (whose
// gitdir has a `commondir` file) the common dir's config; and derives the id
// from the first `url` of [remote "origin"] (git fetches from the first).
// include and url.*.insteadOf are not followed. A config over
// kMaxGitConfigBytes is refused. The raw URL is never put in why_not or
// source: it may hold a token.
RepoIdResult derive_repo_id(const std::string& root);

// The first value of `key` in section [section "subsection"] of git config
// text (section and key case-insensitive, subsection exact; the old
// [section.subsection] form lowercases it, as git does); nullopt when absent.
std::optional<std::string> git_config_value(std::string_view text, std::string_view section,
                                            std::string_view subsection, std::string_view key);

}  // namespace coordd
