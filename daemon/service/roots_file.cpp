#include "daemon/service/roots_file.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>
#include <utility>

#include "proto/cluster_names.hpp"

namespace coordd {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSpace = " \t\r";

constexpr std::array<std::string_view, 8> kKeywords = {
    "log-level",     "cluster",        "cluster-name",     "host-id",
    "cluster-creds", "cluster-tls-ca", "cluster-tls-cert", "cluster-tls-key"};

std::string_view trim(std::string_view s) {
  std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

struct Setting {
  std::string_view keyword;
  std::string_view value;  // trimmed
};

// "KEYWORD VALUE", "KEYWORD=VALUE" or a bare "KEYWORD": a whole first word,
// so a path such as "cluster-data/repo" is not mistaken for a setting.
std::optional<Setting> as_setting(std::string_view line) {
  for (std::string_view keyword : kKeywords) {
    if (!line.starts_with(keyword)) continue;
    std::string_view rest = line.substr(keyword.size());
    if (!rest.empty() && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '=') continue;
    rest = trim(rest);
    if (rest.starts_with('=')) rest = trim(rest.substr(1));
    return Setting{keyword, rest};
  }
  return std::nullopt;
}

class Parser {
 public:
  Parser(const std::string& path, fs::path base) : path_(path), base_(std::move(base)) {}

  // The error for line `number`, or ok.
  Status line(int number, std::string_view text) {
    where_ = path_ + ":" + std::to_string(number) + ": ";
    if (std::optional<Setting> setting = as_setting(text)) return apply(number, *setting);
    return root(text);
  }

  Result<RootsFile> finish() {
    const ClusterSettings& c = result_.cluster;
    if (c.tls_cert_file.has_value() != c.tls_key_file.has_value()) {
      return Status::error("roots_file", path_ +
                                             ": cluster-tls-cert and cluster-tls-key go "
                                             "together; give both or neither");
    }
    return std::move(result_);
  }

 private:
  Status fail(const std::string& message) const {
    return Status::error("roots_file", where_ + message);
  }

  Status apply(int number, const Setting& s) {
    if (s.keyword == "log-level") {
      if (s.value != "trace" && s.value != "debug" && s.value != "info" && s.value != "warn" &&
          s.value != "error") {
        return fail("log-level must be trace, debug, info, warn or error");
      }
      result_.log_level = std::string(s.value);
      return {};
    }
    auto [first, fresh] = seen_.emplace(s.keyword, number);
    if (!fresh) {
      return fail(std::string(s.keyword) + " given twice (first on line " +
                  std::to_string(first->second) + ")");
    }
    ClusterSettings& c = result_.cluster;
    if (s.keyword == "cluster") return urls(s.value);
    if (s.keyword == "cluster-name") return checked(validate_cluster_name(s.value), c.name, s);
    if (s.keyword == "host-id") return checked(validate_host_id(s.value), c.host_id, s);
    if (s.keyword == "cluster-creds") return file(s, c.creds_file);
    if (s.keyword == "cluster-tls-ca") return file(s, c.tls_ca_file);
    if (s.keyword == "cluster-tls-cert") return file(s, c.tls_cert_file);
    return file(s, c.tls_key_file);
  }

  Status checked(Result<std::string> valid, std::optional<std::string>& into, const Setting& s) {
    if (!valid.ok()) return fail(std::string(s.keyword) + ": " + valid.status().message());
    into = std::move(*valid);
    return {};
  }

  // No message here repeats a URL: one may carry a user and password.
  Status urls(std::string_view value) {
    if (value.empty()) return fail("cluster needs a URL: cluster nats://HOST:PORT[,URL...]");
    std::vector<std::string> list;
    for (std::size_t start = 0, n = 1;; ++n) {
      std::size_t comma = value.find(',', start);
      std::string_view url = trim(value.substr(start, comma - start));
      std::string which = "cluster URL " + std::to_string(n);
      if (url.empty()) return fail(which + " is empty");
      if (url.find_first_of(kSpace) != std::string_view::npos) {
        return fail(which + " contains whitespace; separate URLs with ',' alone");
      }
      bool scheme = url.starts_with("nats://") || url.starts_with("tls://");
      if (!scheme || url.substr(url.find("://") + 3).empty()) {
        return fail(which + " must be nats://HOST[:PORT] or tls://HOST[:PORT]");
      }
      list.emplace_back(url);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    result_.cluster.urls = std::move(list);
    return {};
  }

  Status file(const Setting& s, std::optional<std::string>& into) {
    std::string keyword(s.keyword);
    if (s.value.empty()) return fail(keyword + " needs a FILE");
    std::error_code ec;
    fs::path file = fs::canonical(base_ / s.value, ec);
    if (ec || !fs::is_regular_file(file, ec)) {
      return fail(keyword + ": '" + std::string(s.value) + "' is not an existing file");
    }
    into = file.string();
    return {};
  }

  // PATH [repo-id=ID] [mirror], options taken from the end.
  Status root(std::string_view text) {
    RootEntry entry;
    std::string_view path = text;
    for (std::size_t space; (space = path.find_last_of(kSpace)) != std::string_view::npos;) {
      std::string_view token = path.substr(space + 1);
      if (token == "mirror") {
        if (entry.mirror) return fail("mirror given twice");
        entry.mirror = true;
      } else if (token.starts_with("repo-id=")) {
        if (entry.repo_id) return fail("repo-id given twice");
        Result<std::string> id = validate_repo_id(token.substr(8));
        if (!id.ok()) return fail("repo-id: " + id.status().message());
        entry.repo_id = std::move(*id);
      } else {
        break;
      }
      path = trim(path.substr(0, space));
    }
    std::error_code ec;
    fs::path root = fs::canonical(base_ / path, ec);
    if (ec || !fs::is_directory(root, ec)) {
      return fail("'" + std::string(path) + "' is not an existing directory");
    }
    entry.path = root.string();
    result_.roots.push_back(entry.path);
    result_.entries.push_back(std::move(entry));
    return {};
  }

  const std::string& path_;
  fs::path base_;
  std::string where_;
  std::map<std::string_view, int> seen_;  // a cluster setting's keyword -> its line
  RootsFile result_;
};

}  // namespace

Result<RootsFile> read_roots_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::error("roots_file", "cannot read --roots-file " + path);
  }
  Parser parser(path, std::filesystem::absolute(path).parent_path());
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string_view text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    Status status = parser.line(number, text);
    if (!status.ok()) return status;
  }
  return parser.finish();
}

}  // namespace coordd
