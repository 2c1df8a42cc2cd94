// The names coordd gives things in a NATS JetStream cluster (CLUSTER.md,
// "Names"): how a name part is encoded into [A-Za-z0-9_-] tokens, the
// buckets, stream and subjects of cluster C, and the record keys R.H.<kind>.<id>.
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/kind.hpp"
#include "proto/status.hpp"

namespace coordd {

// Name parts. Bytes in [A-Za-z0-9_-] stay as they are; every other byte,
// '=' included, becomes "=HH" (two uppercase hex digits). The empty string
// encodes to a lone "=": a token is never empty, and no non-empty input
// encodes to "=" (a '=' it holds becomes "=3D"), so decoding stays exact.
std::string encode_name_part(std::string_view raw);
// The exact inverse of encode_name_part: nullopt for anything it could not
// have produced (bad or lowercase hex, a dangling '=', a byte that should
// have been escaped, an empty token).
std::optional<std::string> decode_name_part(std::string_view encoded);

// Cluster names are used verbatim in bucket and stream names, which NATS
// limits to [A-Za-z0-9_-]: so they must match [A-Za-z0-9_-]{1,64} (for which
// encoding is the identity), and '=' never reaches a bucket or stream name.
inline constexpr std::size_t kMaxClusterNameBytes = 64;
// The name itself, or a "bad_cluster_name" error naming the rule it breaks.
Result<std::string> validate_cluster_name(std::string_view name);

// Host ids (H) and repo ids (R): 1..128 bytes, no control character, no
// whitespace. Other bytes ('/', '.', UTF-8) are fine: keys encode them.
inline constexpr std::size_t kMaxIdBytes = 128;
// The id itself, or a "bad_host_id" / "bad_repo_id" error naming the rule.
Result<std::string> validate_host_id(std::string_view host);
Result<std::string> validate_repo_id(std::string_view repo);

// The engine's objects for cluster `cluster`, which must have passed
// validate_cluster_name: an invalid one throws std::invalid_argument (a
// programming error; these are named at start-up).
std::string records_bucket(std::string_view cluster);  // "coord_C_records"
std::string hosts_bucket(std::string_view cluster);    // "coord_C_hosts"
std::string agents_bucket(std::string_view cluster);   // "coord_C_agents"
std::string message_stream(std::string_view cluster);  // "COORD_C_MSG"
// "coord.C.msg": the stream's subjects are this prefix + ".>".
std::string message_subject_prefix(std::string_view cluster);
// coord.C.host.enc(H).ping: answered by the coordd holding host id H (core
// NATS request/reply), so a claimant can tell a live holder from a stale entry.
std::string host_ping_subject(std::string_view cluster, std::string_view host);

// Agent messages. A targeted message for agent X sent from host H is stored
// in the message stream under "coord.C.msg.to.enc(X).enc(H)": the mailbox is
// the agent's (it follows the agent to whichever host it says hello on), and
// the sender's host is in the subject, so NATS authorization can let each
// host publish only under its own name. Broadcasts ("coord.C.msg.all.enc(H)")
// and copies of messages delivered without the stream for other hosts' taps
// ("coord.C.msg.seen.enc(H)") are core NATS, not stored.
std::string broadcast_subject(std::string_view cluster, std::string_view host);
std::string tap_copy_subject(std::string_view cluster, std::string_view host);
std::string mailbox_subject(std::string_view cluster, std::string_view agent,
                            std::string_view sender_host);
// "coord.C.msg.to.enc(X).*": what agent X's consumer filters on.
std::string mailbox_filter(std::string_view cluster, std::string_view agent);
// "coord.C.msg.to.>": the message stream's subjects.
std::string mailbox_subjects(std::string_view cluster);
// The durable consumer of agent X's mailbox: "mb_" + enc(X).
std::string mailbox_consumer(std::string_view agent);

// The '.'-separated tokens of a NATS subject (empty tokens kept).
std::vector<std::string_view> subject_tokens(std::string_view subject);

struct MessageSubject {
  enum class Type { kMailbox, kBroadcast, kTapCopy } type = Type::kMailbox;
  std::string agent;  // kMailbox: the recipient
  std::string host;   // the sender's host
};
// The parts of a message subject under `prefix` (message_subject_prefix);
// nullopt for anything else, or a token that does not decode to a valid id.
std::optional<MessageSubject> parse_message_subject(std::string_view prefix,
                                                    std::string_view subject);

// Record keys in the records bucket: enc(R).enc(H).<kind_dir>.enc(id).
std::string record_key(std::string_view repo, std::string_view host, Kind kind,
                       std::string_view id);
// "enc(R).enc(H).": the prefix every key host H writes for repo R starts with.
std::string host_prefix(std::string_view repo, std::string_view host);

// "enc(R).enc(H)._sync": the key host H writes to mark a point in the
// records stream for sync {"scope":"cluster"} (three tokens, so never a
// record's key); every other host ignores it.
std::string sync_marker_key(std::string_view repo, std::string_view host);
bool is_sync_marker_key(std::string_view key);

struct RecordKey {
  std::string repo;
  std::string host;
  Kind kind;
  std::string id;
};

// The parts of a key: exactly four '.'-separated tokens, each decoding, the
// repo and host valid ids, the third a kind's directory name. The id is only
// decoded: whether it is a valid record id is the engine's rule
// (is_valid_record_id), so the caller checks it.
std::optional<RecordKey> parse_record_key(std::string_view key);

}  // namespace coordd
