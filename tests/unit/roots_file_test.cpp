#include "daemon/service/roots_file.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/workspace.hpp"

using namespace coordd;
namespace fs = std::filesystem;

namespace {

// A temp dir holding repos a/, "my repo"/ and the file roots.txt.
struct RootsDir {
  support::TempDir dir;
  fs::path file = dir.path() / "roots.txt";

  RootsDir() {
    fs::create_directories(dir.path() / "a");
    fs::create_directories(dir.path() / "my repo");
    fs::create_directories(dir.path() / "secrets");
    std::ofstream(dir.path() / "secrets" / "coordd.creds") << "creds\n";
    std::ofstream(dir.path() / "secrets" / "ca.pem") << "ca\n";
    std::ofstream(dir.path() / "secrets" / "cert.pem") << "cert\n";
    std::ofstream(dir.path() / "secrets" / "key.pem") << "key\n";
  }

  Result<RootsFile> read(const std::string& text) const {
    std::ofstream(file) << text;
    return read_roots_file(file.string());
  }
  std::string at(const char* relative) const { return (dir.path() / relative).string(); }
};

// The error message of reading `text`, which must fail.
std::string error_of(const RootsDir& dir, const std::string& text) {
  Result<RootsFile> result = dir.read(text);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == "roots_file");
  return result.status().message();
}

}  // namespace

TEST_CASE("a plain root line is a path relative to the file, with no options") {
  RootsDir dir;
  Result<RootsFile> file = dir.read("# repos\n\na\n  my repo  \n");
  REQUIRE(file.ok());
  CHECK(file->roots == std::vector<std::string>{dir.at("a"), dir.at("my repo")});
  REQUIRE(file->entries.size() == 2);
  CHECK(file->entries[1].path == dir.at("my repo"));
  CHECK_FALSE(file->entries[1].repo_id.has_value());
  CHECK_FALSE(file->entries[1].mirror);
  CHECK_FALSE(file->cluster.urls.has_value());
}

TEST_CASE(
    "trailing repo-id= and mirror tokens are options; the rest, spaces and all, is the path") {
  RootsDir dir;
  Result<RootsFile> file = dir.read("my repo repo-id=github.com/org/r mirror\na mirror\n" +
                                    dir.at("a") + " repo-id=x\n");
  REQUIRE(file.ok());
  REQUIRE(file->entries.size() == 3);
  CHECK(file->entries[0].path == dir.at("my repo"));
  CHECK(file->entries[0].repo_id == "github.com/org/r");
  CHECK(file->entries[0].mirror);
  CHECK(file->entries[1].mirror);
  CHECK_FALSE(file->entries[1].repo_id.has_value());
  CHECK(file->entries[2].repo_id == "x");
  CHECK_FALSE(file->entries[2].mirror);
  CHECK(file->roots[0] == dir.at("my repo"));
}

TEST_CASE("an option token in the middle of a path is part of the path") {
  RootsDir dir;
  fs::create_directories(dir.dir.path() / "mirror x");
  Result<RootsFile> file = dir.read("mirror x\n");
  REQUIRE(file.ok());
  CHECK(file->entries[0].path == dir.at("mirror x"));
  CHECK_FALSE(file->entries[0].mirror);
}

TEST_CASE("a bad root option names the file, the line and the rule") {
  RootsDir dir;
  std::string where = dir.file.string() + ":2: ";
  CHECK(error_of(dir, "a\na repo-id=\n") == where + "repo-id: a repo id must not be empty");
  CHECK(error_of(dir, "a\na repo-id=" + std::string(129, 'r') + "\n")
            .starts_with(where + "repo-id: a repo id must be at most 128"));
  CHECK(error_of(dir, "a\na repo-id=x repo-id=y\n") == where + "repo-id given twice");
  CHECK(error_of(dir, "a\na mirror mirror\n") == where + "mirror given twice");
  CHECK(error_of(dir, "a\nmissing mirror\n") == where + "'missing' is not an existing directory");
}

TEST_CASE("the cluster settings lines are read into ClusterSettings") {
  RootsDir dir;
  Result<RootsFile> file = dir.read(
      "cluster nats://n1:4222, tls://user:pw@n2:4222\n"
      "cluster-name prod-eu\n"
      "host-id box-1.example.org\n"
      "cluster-creds secrets/coordd.creds\n"
      "cluster-tls-ca=secrets/ca.pem\n"
      "cluster-tls-cert " +
      dir.at("secrets/cert.pem") +
      "\n"
      "cluster-tls-key secrets/key.pem\n"
      "a\n");
  REQUIRE(file.ok());
  const ClusterSettings& c = file->cluster;
  CHECK(c.urls == std::vector<std::string>{"nats://n1:4222", "tls://user:pw@n2:4222"});
  CHECK(c.name == "prod-eu");
  CHECK(c.host_id == "box-1.example.org");
  CHECK(c.creds_file == dir.at("secrets/coordd.creds"));
  CHECK(c.tls_ca_file == dir.at("secrets/ca.pem"));
  CHECK(c.tls_cert_file == dir.at("secrets/cert.pem"));
  CHECK(c.tls_key_file == dir.at("secrets/key.pem"));
  CHECK(file->roots == std::vector<std::string>{dir.at("a")});
}

TEST_CASE("a path that starts like a keyword is a root, not a setting") {
  RootsDir dir;
  fs::create_directories(dir.dir.path() / "cluster-data");
  fs::create_directories(dir.dir.path() / "cluster");
  Result<RootsFile> file = dir.read("cluster-data\n./cluster\n");
  REQUIRE(file.ok());
  CHECK(file->roots == std::vector<std::string>{dir.at("cluster-data"), dir.at("cluster")});
  CHECK_FALSE(file->cluster.urls.has_value());
}

TEST_CASE("a bad cluster URL is refused by its position, without repeating it") {
  RootsDir dir;
  std::string where = dir.file.string() + ":1: ";
  CHECK(error_of(dir, "cluster\n") ==
        where + "cluster needs a URL: cluster nats://HOST:PORT[,URL...]");
  std::string bad = error_of(dir, "cluster nats://a:4222,https://u:SECRET@b:4222\n");
  CHECK(bad == where + "cluster URL 2 must be nats://HOST[:PORT] or tls://HOST[:PORT]");
  CHECK(bad.find("SECRET") == std::string::npos);
  CHECK(error_of(dir, "cluster nats://a,,nats://b\n") == where + "cluster URL 2 is empty");
  CHECK(error_of(dir, "cluster nats://\n").starts_with(where + "cluster URL 1 must be"));
  CHECK(error_of(dir, "cluster nats://a nats://b\n") ==
        where + "cluster URL 1 contains whitespace; separate URLs with ',' alone");
}

TEST_CASE("a bad cluster name or host id is refused with proto's rule") {
  RootsDir dir;
  std::string where = dir.file.string() + ":1: ";
  CHECK(error_of(dir, "cluster-name prod.eu\n")
            .starts_with(where + "cluster-name: cluster name may hold only letters, digits"));
  CHECK(error_of(dir, "cluster-name\n")
            .starts_with(where + "cluster-name: cluster name must not be empty"));
  CHECK(error_of(dir, "host-id box 1\n") ==
        where + "host-id: a host id must not contain whitespace");
  CHECK(error_of(dir, "host-id\n") == where + "host-id: a host id must not be empty");
}

TEST_CASE("a cluster file that does not exist is refused") {
  RootsDir dir;
  std::string where = dir.file.string() + ":1: ";
  CHECK(error_of(dir, "cluster-creds nope.creds\n") ==
        where + "cluster-creds: 'nope.creds' is not an existing file");
  CHECK(error_of(dir, "cluster-tls-ca secrets\n") ==
        where + "cluster-tls-ca: 'secrets' is not an existing file");
  CHECK(error_of(dir, "cluster-tls-key\n") == where + "cluster-tls-key needs a FILE");
}

TEST_CASE("a cluster setting given twice is refused, naming the first line") {
  RootsDir dir;
  CHECK(error_of(dir, "host-id a\na\nhost-id b\n") ==
        dir.file.string() + ":3: host-id given twice (first on line 1)");
}

TEST_CASE("a TLS certificate without its key is refused") {
  RootsDir dir;
  CHECK(error_of(dir, "cluster-tls-cert secrets/cert.pem\n") ==
        dir.file.string() +
            ": cluster-tls-cert and cluster-tls-key go together; give both or neither");
}

TEST_CASE("log-level still takes a level, and the last line wins") {
  RootsDir dir;
  Result<RootsFile> file = dir.read("log-level info\nlog-level=debug\n");
  REQUIRE(file.ok());
  CHECK(file->log_level == "debug");
  CHECK(error_of(dir, "log-level loud\n") ==
        dir.file.string() + ":1: log-level must be trace, debug, info, warn or error");
}
