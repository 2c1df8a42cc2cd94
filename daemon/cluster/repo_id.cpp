#include "daemon/cluster/repo_id.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "proto/cluster_names.hpp"

namespace coordd {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSetRepoId =
    "give the root a repo id: repo-id=ID after its path in the roots file";
// A .git file or commondir is one short line; anything longer is not one.
constexpr std::size_t kMaxLinkFileBytes = 64 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

// "r.git/" -> "r": trailing '/'s, one ".git", then '/'s it uncovered.
std::string_view strip_repo_suffix(std::string_view path) {
  auto drop_slashes = [](std::string_view p) {
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
    return p;
  };
  path = drop_slashes(path);
  if (path.ends_with(".git")) path.remove_suffix(4);
  return drop_slashes(path);
}

std::optional<int> default_port(std::string_view scheme) {
  if (scheme == "ssh" || scheme == "git+ssh" || scheme == "ssh+git") return 22;
  if (scheme == "git") return 9418;
  if (scheme == "http") return 80;
  if (scheme == "https") return 443;
  if (scheme == "ftp") return 21;
  if (scheme == "ftps") return 990;
  return std::nullopt;
}

bool is_host_byte(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

std::optional<std::string> local_repo(std::string_view path) {
  std::string normal = fs::path(path).lexically_normal().string();
  std::string_view stripped = strip_repo_suffix(normal);
  if (stripped.empty()) return std::nullopt;
  return "file" + std::string(stripped);
}

// authority is [userinfo@]host[:port]; the userinfo is dropped unread.
std::optional<std::string> remote_repo(std::string_view authority, std::string_view path,
                                       std::optional<int> port_by_default) {
  std::size_t at = authority.rfind('@');
  std::string_view host_port = at == std::string_view::npos ? authority : authority.substr(at + 1);
  std::string_view host = host_port;
  std::string_view port;
  if (host_port.starts_with('[')) {  // [v6 address]
    std::size_t close = host_port.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = host_port.substr(0, close + 1);
    port = host_port.substr(close + 1);
    if (!port.empty() && !port.starts_with(':')) return std::nullopt;
    if (!port.empty()) port.remove_prefix(1);
    for (char c : host.substr(1, host.size() - 2)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return std::nullopt;
    }
  } else {
    std::size_t colon = host_port.find(':');
    if (colon != std::string_view::npos) {
      host = host_port.substr(0, colon);
      port = host_port.substr(colon + 1);
    }
    if (!std::all_of(host.begin(), host.end(), is_host_byte)) return std::nullopt;
  }
  if (host.empty() || host == "[]") return std::nullopt;
  std::string port_suffix;
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return std::nullopt;
    }
    int number = std::stoi(std::string(port));
    if (number == 0 || number > 65535) return std::nullopt;
    if (number != port_by_default) port_suffix = ":" + std::to_string(number);
  }
  while (path.starts_with('/')) path.remove_prefix(1);
  path = strip_repo_suffix(path);
  // A '@' here is most likely a credential that slipped past the authority
  // (an unescaped '/' in a password, "user:pass@host:path" in scp form).
  if (path.empty() || path.find('@') != std::string_view::npos) return std::nullopt;
  return lower(host) + port_suffix + "/" + std::string(path);
}

bool is_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

// Git config text, scanned as git's config.c reads it.
class ConfigScanner {
 public:
  explicit ConfigScanner(std::string_view text) : text_(text) {}

  std::optional<std::string> find(std::string_view section, std::string_view subsection,
                                  std::string_view key) {
    std::string current_section, current_subsection;
    while (true) {
      int c = get();
      if (c == kEnd) return std::nullopt;
      if (c == '\n' || c == ' ' || c == '\t' || c == '\r') continue;
      if (c == '#' || c == ';') {
        skip_line();
      } else if (c == '[') {
        if (!header(current_section, current_subsection)) return std::nullopt;
      } else if (std::isalpha(c)) {
        std::string name(1, static_cast<char>(c));
        while (std::isalnum(peek()) || peek() == '-') name += static_cast<char>(get());
        while (peek() == ' ' || peek() == '\t') get();
        std::optional<std::string> value;
        if (peek() == '=') {
          get();
          value = this->value();
          if (!value) return std::nullopt;
        } else if (peek() == '\n' || peek() == kEnd || peek() == '#' || peek() == ';') {
          value = "true";  // a bare key is a boolean
          skip_line();
        } else {
          return std::nullopt;
        }
        if (iequals(current_section, section) && current_subsection == subsection &&
            iequals(name, key)) {
          return value;
        }
      } else {
        return std::nullopt;  // git refuses such a file; so do we
      }
    }
  }

 private:
  static constexpr int kEnd = -1;

  int peek() const {
    if (pos_ >= text_.size()) return kEnd;
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') return '\n';
    return static_cast<unsigned char>(text_[pos_]);
  }
  int get() {
    int c = peek();
    if (c == kEnd) return c;
    pos_ += (text_[pos_] == '\r' && c == '\n') ? 2 : 1;
    return c;
  }
  void skip_line() {
    while (peek() != kEnd && get() != '\n') {
    }
  }

  // After '[': `name]`, `name "sub"]` or the old `name.sub]` (all lowercased).
  bool header(std::string& section, std::string& subsection) {
    section.clear();
    subsection.clear();
    while (std::isalnum(peek()) || peek() == '-' || peek() == '.') {
      section += static_cast<char>(std::tolower(get()));
    }
    if (section.empty()) return false;
    if (peek() == ']') {
      get();
      std::size_t dot = section.find('.');
      if (dot != std::string::npos) {
        subsection = section.substr(dot + 1);
        section.resize(dot);
      }
      return true;
    }
    if (section.find('.') != std::string::npos) return false;
    while (peek() == ' ' || peek() == '\t') get();
    if (get() != '"') return false;
    while (true) {
      int c = get();
      if (c == kEnd || c == '\n') return false;
      if (c == '"') break;
      if (c == '\\') {
        c = get();
        if (c == kEnd || c == '\n') return false;
      }
      subsection += static_cast<char>(c);
    }
    return get() == ']';
  }

  // After '=': to the end of the line, with quotes, escapes, comments and
  // continuation lines; inner whitespace kept, leading and trailing dropped.
  std::optional<std::string> value() {
    std::string out;
    std::size_t pending_spaces = 0;
    bool quoted = false;
    while (true) {
      int c = get();
      if (c == kEnd || c == '\n') {
        if (quoted) return std::nullopt;
        return out;
      }
      if (!quoted && (c == '#' || c == ';')) {
        skip_line();
        return out;
      }
      if (!quoted && (c == ' ' || c == '\t')) {
        if (!out.empty()) ++pending_spaces;
        continue;
      }
      if (c == '"') {
        quoted = !quoted;
        continue;
      }
      if (c == '\\') {
        c = get();
        switch (c) {
          case '\n':
            continue;
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'b':
            c = '\b';
            break;
          case '\\':
          case '"':
            break;
          default:
            return std::nullopt;
        }
      }
      out.append(pending_spaces, ' ');
      pending_spaces = 0;
      out += static_cast<char>(c);
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// The whole of a file no larger than `limit`, or nullopt.
std::optional<std::string> read_bounded(const fs::path& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text;
  text.resize(limit + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return std::nullopt;
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > limit) return std::nullopt;
  return text;
}

RepoIdResult no_id(std::string why) {
  return RepoIdResult{std::nullopt, std::move(why) + "; " + std::string(kSetRepoId), ""};
}

// `base`/PATH for a relative PATH, as git reads gitdir and commondir.
fs::path resolve(const fs::path& base, std::string_view path) {
  fs::path p(path);
  return (p.is_absolute() ? p : base / p).lexically_normal();
}

}  // namespace

std::optional<std::string> normalize_remote_url(std::string_view url) {
  url = trim(url);
  if (url.empty()) return std::nullopt;
  for (unsigned char c : url) {
    if (c <= ' ' || c == 0x7f) return std::nullopt;
  }
  std::size_t scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos && is_scheme(url.substr(0, scheme_end))) {
    std::string scheme = lower(url.substr(0, scheme_end));
    std::string_view rest = url.substr(scheme_end + 3);
    std::size_t slash = rest.find('/');
    if (scheme == "file") {
      std::string_view host = rest.substr(0, slash);
      if (slash == std::string_view::npos || !(host.empty() || iequals(host, "localhost"))) {
        return std::nullopt;
      }
      return local_repo(rest.substr(slash));
    }
    std::optional<int> port = default_port(scheme);
    if (!port) return std::nullopt;
    rest = rest.substr(0, rest.find_first_of("?#"));
    slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    return remote_repo(rest.substr(0, slash), rest.substr(slash), port);
  }
  if (url.starts_with('/')) return local_repo(url);
  // scp-like [user@]host:path: a ':' before any '/'.
  std::size_t colon = url.find(':');
  std::size_t slash = url.find('/');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && slash < colon)) {
    return std::nullopt;  // a relative local path: it names nothing another host shares
  }
  return remote_repo(url.substr(0, colon), url.substr(colon + 1), std::nullopt);
}

std::optional<std::string> git_config_value(std::string_view text, std::string_view section,
                                            std::string_view subsection, std::string_view key) {
  return ConfigScanner(text).find(section, subsection, key);
}

RepoIdResult derive_repo_id(const std::string& root) {
  fs::path dot_git = fs::path(root) / ".git";
  std::error_code ec;
  fs::path git_dir;
  if (fs::is_directory(dot_git, ec)) {
    git_dir = dot_git;
  } else if (fs::is_regular_file(dot_git, ec)) {
    std::optional<std::string> link = read_bounded(dot_git, kMaxLinkFileBytes);
    std::string_view line = link ? trim(*link) : std::string_view();
    line = line.substr(0, line.find('\n'));
    if (!line.starts_with("gitdir:")) {
      return no_id(dot_git.string() + " is a file but not a \"gitdir: PATH\" link");
    }
    git_dir = resolve(root, trim(line.substr(7)));
  } else {
    return no_id("no .git in " + root + " (not a git clone)");
  }

  fs::path config_dir = git_dir;
  fs::path commondir = git_dir / "commondir";
  if (fs::is_regular_file(commondir, ec)) {  // a worktree: config lives in the common dir
    std::optional<std::string> common = read_bounded(commondir, kMaxLinkFileBytes);
    if (!common || trim(*common).empty()) return no_id("cannot read " + commondir.string());
    config_dir = resolve(git_dir, trim(*common));
  }

  fs::path config = config_dir / "config";
  std::uintmax_t size = fs::file_size(config, ec);
  if (ec) return no_id("cannot read " + config.string());
  if (size > kMaxGitConfigBytes) {
    return no_id(config.string() + " is larger than " + std::to_string(kMaxGitConfigBytes) +
                 " bytes");
  }
  std::optional<std::string> text = read_bounded(config, kMaxGitConfigBytes);
  if (!text) return no_id("cannot read " + config.string());

  std::optional<std::string> url = git_config_value(*text, "remote", "origin", "url");
  if (!url) return no_id("no remote \"origin\" in " + config.string());
  std::optional<std::string> id = normalize_remote_url(*url);
  if (!id) {
    return no_id("the url of remote \"origin\" in " + config.string() +
                 " is not one coordd can turn into a repo id");
  }
  Result<std::string> valid = validate_repo_id(*id);
  if (!valid.ok()) {
    return no_id("the url of remote \"origin\" in " + config.string() +
                 " gives no valid repo id (" + valid.status().message() + ")");
  }
  return RepoIdResult{std::move(*valid), "", "remote \"origin\" in " + config.string()};
}

}  // namespace coordd
