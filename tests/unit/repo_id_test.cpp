#include "daemon/cluster/repo_id.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/workspace.hpp"

using namespace coordd;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string origin_config(const std::string& url) {
  return "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = " + url +
         "\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n";
}

}  // namespace

TEST_CASE("every spelling of one GitHub repository normalizes to github.com/org/r") {
  for (std::string_view url :
       {"git@github.com:org/r.git", "ssh://git@github.com/org/r.git",
        "ssh://git@github.com:22/org/r", "https://github.com/org/r",
        "https://user:token@GitHub.com/org/r.git/", "git://github.com/org/r",
        "git://github.com:9418/org/r.git", "HTTPS://github.com:443/org/r",
        "https://github.com/org/r?tab=readme#top", "  git@github.com:/org/r.git\n"}) {
    CAPTURE(url);
    CHECK(normalize_remote_url(url) == "github.com/org/r");
  }
}

TEST_CASE("a normalized URL keeps a port that is not the scheme's default and the path's case") {
  CHECK(normalize_remote_url("ssh://git@host.example:2222/Org/R.git") == "host.example:2222/Org/R");
  CHECK(normalize_remote_url("https://host.example:22/org/r") == "host.example:22/org/r");
  CHECK(normalize_remote_url("https://[2001:DB8::1]:8443/org/r") == "[2001:db8::1]:8443/org/r");
}

TEST_CASE("credentials in a URL never survive normalization") {
  std::optional<std::string> id = normalize_remote_url("https://alice:s3cr3t-t0ken@host/org/r.git");
  REQUIRE(id.has_value());
  CHECK(*id == "host/org/r");
  CHECK(id->find("s3cr3t") == std::string::npos);
  CHECK(id->find("alice") == std::string::npos);
  // An unescaped '/' in a password would move the secret into the path: refused instead.
  CHECK_FALSE(normalize_remote_url("https://alice:12/34@host/org/r").has_value());
  CHECK_FALSE(normalize_remote_url("alice:pw@host:org/r").has_value());
}

TEST_CASE("local paths and file:// URLs normalize to file/<path>") {
  CHECK(normalize_remote_url("/srv/git/r.git") == "file/srv/git/r");
  CHECK(normalize_remote_url("file:///srv/git/r.git") == "file/srv/git/r");
  CHECK(normalize_remote_url("file://localhost/srv/git/r/") == "file/srv/git/r");
  CHECK(normalize_remote_url("/srv/git/r/.git") == "file/srv/git/r");
}

TEST_CASE("empty, relative and garbage URLs give no id") {
  for (std::string_view url :
       {"", "   ", "../r.git", "r", "https://", "https://host", "https://host/", "ftp2://host/r",
        "::", "file://otherhost/r", "https://ho st/r", "https://host:99999/r", "https://host:x/r",
        "/", "git@github.com:", "https://user@/org/r"}) {
    CAPTURE(url);
    CHECK_FALSE(normalize_remote_url(url).has_value());
  }
}

TEST_CASE("git_config_value reads git's syntax: case, quotes, comments, continuations") {
  std::string text =
      "# a comment\n"
      "[Remote \"upstream\"]\n url = wrong\n"
      "[REMOTE \"origin\"] ; the one\n"
      "\tURL   =   \"git@host:org/r.git\"  # trailing comment\n"
      "\turl = second\n";
  CHECK(git_config_value(text, "remote", "origin", "url") == "git@host:org/r.git");
  CHECK(git_config_value(text, "remote", "upstream", "url") == "wrong");
  CHECK_FALSE(git_config_value(text, "remote", "Origin", "url").has_value());  // subsection exact
  CHECK(git_config_value("[remote.origin]\nurl=a\\\nb\r\n", "remote", "origin", "url") == "ab");
  CHECK(git_config_value("[core]\nbare\n", "core", "", "bare") == "true");
  CHECK(git_config_value("[a \"x\\\"y\"]\nk = v ; c\n", "a", "x\"y", "k") == "v");
  CHECK_FALSE(
      git_config_value("[remote \"origin\"\nurl = x\n", "remote", "origin", "url").has_value());
}

TEST_CASE("derive_repo_id reads the origin url of <root>/.git/config") {
  support::TempDir dir;
  write_file(dir.path() / ".git" / "config", origin_config("git@GitHub.com:org/r.git"));
  RepoIdResult result = derive_repo_id(dir.path().string());
  CHECK(result.id == "github.com/org/r");
  CHECK(result.why_not.empty());
  CHECK(result.source.find((dir.path() / ".git" / "config").string()) != std::string::npos);
}

TEST_CASE("a worktree's .git file leads through gitdir and commondir to the main config") {
  support::TempDir dir;
  fs::path main_git = dir.path() / "main" / ".git";
  write_file(main_git / "config", origin_config("https://user:tok@host.example/org/r.git"));
  write_file(main_git / "worktrees" / "wt" / "commondir", "../..\n");
  fs::path worktree = dir.path() / "wt";
  write_file(worktree / ".git", "gitdir: ../main/.git/worktrees/wt\n");
  RepoIdResult result = derive_repo_id(worktree.string());
  CHECK(result.id == "host.example/org/r");
  CHECK(result.source.find((main_git / "config").lexically_normal().string()) != std::string::npos);
  CHECK(result.source.find("tok") == std::string::npos);
}

TEST_CASE("a submodule's .git file with an absolute gitdir and no commondir reads that config") {
  support::TempDir dir;
  fs::path modules = dir.path() / "super" / ".git" / "modules" / "sub";
  write_file(modules / "config", origin_config("ssh://git@host/org/sub"));
  write_file(dir.path() / "super" / "sub" / ".git", "gitdir: " + modules.string() + "\n");
  CHECK(derive_repo_id((dir.path() / "super" / "sub").string()).id == "host/org/sub");
}

TEST_CASE("a clone with no origin remote has no id, and why_not says so and what to do") {
  support::TempDir dir;
  write_file(dir.path() / ".git" / "config", "[remote \"upstream\"]\n\turl = git@h:o/r\n");
  RepoIdResult result = derive_repo_id(dir.path().string());
  CHECK_FALSE(result.id.has_value());
  CHECK(result.why_not.find("no remote \"origin\" in " + (dir.path() / ".git/config").string()) !=
        std::string::npos);
  CHECK(result.why_not.find("repo-id=ID") != std::string::npos);
}

TEST_CASE("a root that is not a git clone has no id") {
  support::TempDir dir;
  RepoIdResult result = derive_repo_id(dir.path().string());
  CHECK_FALSE(result.id.has_value());
  CHECK(result.why_not.find("no .git in") != std::string::npos);
}

TEST_CASE("an origin url that cannot be normalized is not echoed in why_not") {
  support::TempDir dir;
  write_file(dir.path() / ".git" / "config", origin_config("https://u:SECRET@host"));
  RepoIdResult result = derive_repo_id(dir.path().string());
  CHECK_FALSE(result.id.has_value());
  CHECK(result.why_not.find("is not one coordd can turn into a repo id") != std::string::npos);
  CHECK(result.why_not.find("SECRET") == std::string::npos);
}

TEST_CASE("a git config larger than 1 MiB is refused") {
  support::TempDir dir;
  std::string padding(kMaxGitConfigBytes, '#');
  write_file(dir.path() / ".git" / "config", origin_config("git@h:o/r") + "\n" + padding);
  RepoIdResult result = derive_repo_id(dir.path().string());
  CHECK_FALSE(result.id.has_value());
  CHECK(result.why_not.find("larger than") != std::string::npos);
}

TEST_CASE("a .git file that is not a gitdir link has no id") {
  support::TempDir dir;
  write_file(dir.path() / ".git", "not a link\n");
  CHECK(derive_repo_id(dir.path().string()).why_not.find("not a \"gitdir: PATH\" link") !=
        std::string::npos);
}
