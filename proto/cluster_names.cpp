#include "proto/cluster_names.hpp"

#include <stdexcept>
#include <utility>
#include <vector>

namespace coordd {
namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";

bool is_plain(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Uppercase only: "=2f" would decode to the same byte as "=2F", and two
// spellings of one name would be two keys.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> validate_id(std::string_view id, const char* code, const char* what) {
  auto fail = [&](const std::string& rule) {
    return Status::error(code, std::string(what) + " " + rule);
  };
  if (id.empty()) return fail("must not be empty");
  if (id.size() > kMaxIdBytes) {
    return fail("must be at most " + std::to_string(kMaxIdBytes) + " bytes, not " +
                std::to_string(id.size()));
  }
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return fail("must not contain a control character");
    if (c == ' ') return fail("must not contain whitespace");
  }
  return std::string(id);
}

// A valid cluster name encodes to itself, so it is used as it is.
std::string cluster_name(std::string_view cluster) {
  Result<std::string> valid = validate_cluster_name(cluster);
  if (!valid.ok()) throw std::invalid_argument(valid.status().message());
  return std::move(*valid);
}

}  // namespace

std::string encode_name_part(std::string_view raw) {
  if (raw.empty()) return "=";
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (is_plain(c)) {
      out += static_cast<char>(c);
    } else {
      out += '=';
      out += kHexDigits[c >> 4];
      out += kHexDigits[c & 0xf];
    }
  }
  return out;
}

std::optional<std::string> decode_name_part(std::string_view encoded) {
  if (encoded == "=") return std::string();
  if (encoded.empty()) return std::nullopt;
  std::string out;
  out.reserve(encoded.size());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(encoded[i]);
    if (is_plain(c)) {
      out += static_cast<char>(c);
      continue;
    }
    if (c != '=' || i + 2 >= encoded.size()) return std::nullopt;
    int high = hex_value(encoded[i + 1]);
    int low = hex_value(encoded[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    unsigned char byte = static_cast<unsigned char>(high * 16 + low);
    // A plain byte spelled "=HH" is not what encode writes.
    if (is_plain(byte)) return std::nullopt;
    out += static_cast<char>(byte);
    i += 2;
  }
  return out;
}

Result<std::string> validate_cluster_name(std::string_view name) {
  auto fail = [](const std::string& rule) {
    return Status::error(
        "bad_cluster_name",
        "cluster name " + rule + " (it names NATS buckets and a stream: [A-Za-z0-9_-]{1,64})");
  };
  if (name.empty()) return fail("must not be empty");
  if (name.size() > kMaxClusterNameBytes) {
    return fail("must be at most " + std::to_string(kMaxClusterNameBytes) + " bytes, not " +
                std::to_string(name.size()));
  }
  for (unsigned char c : name) {
    if (!is_plain(c)) return fail("may hold only letters, digits, '_' and '-'");
  }
  return std::string(name);
}

Result<std::string> validate_host_id(std::string_view host) {
  return validate_id(host, "bad_host_id", "a host id");
}

Result<std::string> validate_repo_id(std::string_view repo) {
  return validate_id(repo, "bad_repo_id", "a repo id");
}

std::string records_bucket(std::string_view cluster) {
  return "coord_" + cluster_name(cluster) + "_records";
}

std::string hosts_bucket(std::string_view cluster) {
  return "coord_" + cluster_name(cluster) + "_hosts";
}

std::string agents_bucket(std::string_view cluster) {
  return "coord_" + cluster_name(cluster) + "_agents";
}

std::string message_stream(std::string_view cluster) {
  return "COORD_" + cluster_name(cluster) + "_MSG";
}

std::string message_subject_prefix(std::string_view cluster) {
  return "coord." + cluster_name(cluster) + ".msg";
}

std::string host_ping_subject(std::string_view cluster, std::string_view host) {
  return "coord." + cluster_name(cluster) + ".host." + encode_name_part(host) + ".ping";
}

std::string broadcast_subject(std::string_view cluster, std::string_view host) {
  return message_subject_prefix(cluster) + ".all." + encode_name_part(host);
}

std::string tap_copy_subject(std::string_view cluster, std::string_view host) {
  return message_subject_prefix(cluster) + ".seen." + encode_name_part(host);
}

std::string mailbox_subject(std::string_view cluster, std::string_view agent,
                            std::string_view sender_host) {
  return message_subject_prefix(cluster) + ".to." + encode_name_part(agent) + "." +
         encode_name_part(sender_host);
}

std::string mailbox_filter(std::string_view cluster, std::string_view agent) {
  return message_subject_prefix(cluster) + ".to." + encode_name_part(agent) + ".*";
}

std::string mailbox_subjects(std::string_view cluster) {
  return message_subject_prefix(cluster) + ".to.>";
}

std::string mailbox_consumer(std::string_view agent) { return "mb_" + encode_name_part(agent); }

std::vector<std::string_view> subject_tokens(std::string_view subject) {
  std::vector<std::string_view> tokens;
  for (std::size_t start = 0;;) {
    std::size_t dot = subject.find('.', start);
    tokens.push_back(subject.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return tokens;
}

std::optional<MessageSubject> parse_message_subject(std::string_view prefix,
                                                    std::string_view subject) {
  if (!subject.starts_with(prefix) || subject.size() <= prefix.size() ||
      subject[prefix.size()] != '.') {
    return std::nullopt;
  }
  subject.remove_prefix(prefix.size() + 1);
  std::vector<std::string_view> tokens = subject_tokens(subject);
  MessageSubject parsed;
  std::optional<std::string> host;
  if (tokens.size() == 3 && tokens[0] == "to") {
    std::optional<std::string> agent = decode_name_part(tokens[1]);
    if (!agent) return std::nullopt;
    parsed.type = MessageSubject::Type::kMailbox;
    parsed.agent = std::move(*agent);
    host = decode_name_part(tokens[2]);
  } else if (tokens.size() == 2 && (tokens[0] == "all" || tokens[0] == "seen")) {
    parsed.type =
        tokens[0] == "all" ? MessageSubject::Type::kBroadcast : MessageSubject::Type::kTapCopy;
    host = decode_name_part(tokens[1]);
  } else {
    return std::nullopt;
  }
  if (!host || !validate_host_id(*host).ok()) return std::nullopt;
  parsed.host = std::move(*host);
  return parsed;
}

std::string record_key(std::string_view repo, std::string_view host, Kind kind,
                       std::string_view id) {
  return host_prefix(repo, host) + std::string(kind_dir(kind)) + "." + encode_name_part(id);
}

std::string sync_marker_key(std::string_view repo, std::string_view host) {
  return host_prefix(repo, host) + "_sync";
}

bool is_sync_marker_key(std::string_view key) {
  std::size_t first = key.find('.');
  if (first == std::string_view::npos) return false;
  std::size_t second = key.find('.', first + 1);
  return second != std::string_view::npos && key.substr(second + 1) == "_sync";
}

std::string host_prefix(std::string_view repo, std::string_view host) {
  return encode_name_part(repo) + "." + encode_name_part(host) + ".";
}

std::optional<RecordKey> parse_record_key(std::string_view key) {
  std::string_view tokens[4];
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    if (count == 4) return std::nullopt;  // a fifth token
    tokens[count++] = key.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (count != 4) return std::nullopt;
  std::optional<std::string> repo = decode_name_part(tokens[0]);
  std::optional<std::string> host = decode_name_part(tokens[1]);
  std::optional<Kind> kind = kind_from_dir(tokens[2]);
  std::optional<std::string> id = decode_name_part(tokens[3]);
  if (!repo || !host || !kind || !id) return std::nullopt;
  if (!validate_repo_id(*repo).ok() || !validate_host_id(*host).ok()) return std::nullopt;
  return RecordKey{std::move(*repo), std::move(*host), *kind, std::move(*id)};
}

}  // namespace coordd
