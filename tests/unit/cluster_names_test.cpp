#include "proto/cluster_names.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace coordd;

namespace {

bool only_token_bytes(const std::string& s) {
  for (char c : s) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '=';
    if (!plain) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("letters, digits, '_' and '-' encode to themselves") {
  CHECK(encode_name_part("Host_01-a") == "Host_01-a");
}

TEST_CASE("every other byte, '=' included, encodes as =HH in uppercase hex") {
  CHECK(encode_name_part("a.b") == "a=2Eb");
  CHECK(encode_name_part("*") == "=2A");
  CHECK(encode_name_part(">") == "=3E");
  CHECK(encode_name_part(" ") == "=20");
  CHECK(encode_name_part("=") == "=3D");
  CHECK(encode_name_part("github.com/org/r") == "github=2Ecom=2Forg=2Fr");
  CHECK(encode_name_part(std::string(1, '\xff')) == "=FF");
  CHECK(encode_name_part(std::string(1, '\0')) == "=00");
}

TEST_CASE("the empty name encodes to a lone '=' and decodes back to empty") {
  CHECK(encode_name_part("") == "=");
  CHECK(decode_name_part("=") == std::string());
}

TEST_CASE("every byte value round-trips, alone and inside a name, into token bytes only") {
  for (int b = 0; b < 256; ++b) {
    CAPTURE(b);
    std::string alone(1, static_cast<char>(b));
    std::string inside = "x" + alone + "y" + alone;
    for (const std::string& raw : {alone, inside}) {
      std::string encoded = encode_name_part(raw);
      CHECK(only_token_bytes(encoded));
      CHECK(decode_name_part(encoded) == raw);
    }
  }
}

TEST_CASE("names with separators, wildcards, spaces and '=' round-trip") {
  std::vector<std::string> names = {"",      ".",         "*",      ">",   " ",   "=",  "==", "=3D",
                                    "a.b.c", "coord.*.>", "a b\tc", "R.H", "é日", "..", "-",  "_"};
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  names.push_back(all_bytes);
  for (const std::string& raw : names) {
    CAPTURE(raw);
    CHECK(decode_name_part(encode_name_part(raw)) == raw);
  }
}

TEST_CASE("distinct names never encode to the same token") {
  CHECK(encode_name_part("") != encode_name_part("="));
  CHECK(encode_name_part("=") != encode_name_part("=3D"));
  CHECK(encode_name_part("a.b") != encode_name_part("a=2Eb"));
}

TEST_CASE("decode refuses what encode could not have produced") {
  CHECK_FALSE(decode_name_part("").has_value());          // empty token
  CHECK_FALSE(decode_name_part("a=").has_value());        // dangling '='
  CHECK_FALSE(decode_name_part("a=2").has_value());       // one hex digit
  CHECK_FALSE(decode_name_part("=2e").has_value());       // lowercase hex
  CHECK_FALSE(decode_name_part("=G0").has_value());       // not hex
  CHECK_FALSE(decode_name_part("=41").has_value());       // 'A' should be raw
  CHECK_FALSE(decode_name_part("=5F").has_value());       // '_' should be raw
  CHECK_FALSE(decode_name_part("a.b").has_value());       // raw '.'
  CHECK_FALSE(decode_name_part("a b").has_value());       // raw space
  CHECK_FALSE(decode_name_part("==").has_value());        // '=' is not a lone "="
  CHECK_FALSE(decode_name_part("=3D=").has_value());      // dangling after a good escape
  CHECK_FALSE(decode_name_part("\xc3\xa9").has_value());  // raw UTF-8
}

TEST_CASE("cluster names are [A-Za-z0-9_-]{1,64}; anything else is refused with the rule") {
  CHECK(*validate_cluster_name("prod-eu_1") == "prod-eu_1");
  CHECK(validate_cluster_name(std::string(64, 'c')).ok());
  Result<std::string> empty = validate_cluster_name("");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().code() == "bad_cluster_name");
  CHECK(empty.status().message().find("must not be empty") != std::string::npos);
  CHECK(validate_cluster_name(std::string(65, 'c')).status().message().find("at most 64") !=
        std::string::npos);
  for (std::string_view bad : {"a.b", "a=b", "a b", "a*", "a>", "a/b", "\xc3\xa9"}) {
    CAPTURE(bad);
    Result<std::string> r = validate_cluster_name(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("only letters, digits") != std::string::npos);
  }
}

TEST_CASE("the buckets, stream and subjects of a cluster are named as CLUSTER.md says") {
  CHECK(records_bucket("prod") == "coord_prod_records");
  CHECK(hosts_bucket("prod") == "coord_prod_hosts");
  CHECK(agents_bucket("prod") == "coord_prod_agents");
  CHECK(message_stream("prod") == "COORD_prod_MSG");
  CHECK(message_subject_prefix("prod") == "coord.prod.msg");
  CHECK(broadcast_subject("prod", "box.1") == "coord.prod.msg.all.box=2E1");
  CHECK(tap_copy_subject("prod", "box.1") == "coord.prod.msg.seen.box=2E1");
  CHECK(mailbox_subject("prod", "agent x", "box.1") == "coord.prod.msg.to.agent=20x.box=2E1");
  CHECK(mailbox_filter("prod", "agent x") == "coord.prod.msg.to.agent=20x.*");
  CHECK(mailbox_subjects("prod") == "coord.prod.msg.to.>");
  CHECK(mailbox_consumer("w.1") == "mb_w=2E1");
}

TEST_CASE(
    "a message subject names its recipient's mailbox (or a broadcast) and the sender's host") {
  std::string prefix = message_subject_prefix("prod");
  std::optional<MessageSubject> to =
      parse_message_subject(prefix, mailbox_subject("prod", "agent x", "box.1"));
  REQUIRE(to);
  CHECK(to->type == MessageSubject::Type::kMailbox);
  CHECK(to->agent == "agent x");
  CHECK(to->host == "box.1");
  std::optional<MessageSubject> all = parse_message_subject(prefix, broadcast_subject("prod", "h"));
  REQUIRE(all);
  CHECK(all->type == MessageSubject::Type::kBroadcast);
  CHECK(all->host == "h");
  std::optional<MessageSubject> seen = parse_message_subject(prefix, tap_copy_subject("prod", "h"));
  REQUIRE(seen);
  CHECK(seen->type == MessageSubject::Type::kTapCopy);
  for (const char* bad :
       {"coord.prod.msg", "coord.prod.msg.to.x", "coord.prod.msg.to.x.h.extra",
        "coord.prod.msg.all", "coord.prod.msg.other.h", "coord.prod.msg.to.x.a=zz",
        "coord.other.msg.all.h", "coord.prod.msgs.all.h"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_message_subject(prefix, bad));
  }
}

TEST_CASE(
    "naming a bucket or stream for an invalid cluster name throws, so '=' never reaches NATS") {
  CHECK_THROWS_AS((void)records_bucket("a.b"), std::invalid_argument);
  CHECK_THROWS_AS((void)hosts_bucket(""), std::invalid_argument);
  CHECK_THROWS_AS((void)agents_bucket("a=b"), std::invalid_argument);
  CHECK_THROWS_AS((void)message_stream("a b"), std::invalid_argument);
  CHECK_THROWS_AS((void)message_subject_prefix("a*"), std::invalid_argument);
}

TEST_CASE("host and repo ids allow 1..128 bytes with no control character or whitespace") {
  CHECK(*validate_host_id("box-1.example.org") == "box-1.example.org");
  CHECK(*validate_repo_id("github.com/org/r") == "github.com/org/r");
  CHECK(validate_repo_id(std::string(128, 'r')).ok());
  CHECK(validate_host_id("h\xc3\xa9").ok());

  struct Case {
    std::string id;
    std::string rule;
  };
  for (const Case& c : {Case{"", "must not be empty"}, Case{std::string(129, 'h'), "at most 128"},
                        Case{"a b", "whitespace"}, Case{"a\tb", "control character"},
                        Case{"a\nb", "control character"}, Case{"a\x7f", "control character"},
                        Case{std::string("a\0b", 3), "control character"}}) {
    CAPTURE(c.id);
    Result<std::string> host = validate_host_id(c.id);
    Result<std::string> repo = validate_repo_id(c.id);
    REQUIRE_FALSE(host.ok());
    REQUIRE_FALSE(repo.ok());
    CHECK(host.status().code() == "bad_host_id");
    CHECK(repo.status().code() == "bad_repo_id");
    CHECK(host.status().message().starts_with("a host id must"));
    CHECK(repo.status().message().starts_with("a repo id must"));
    CHECK(host.status().message().find(c.rule) != std::string::npos);
    CHECK(repo.status().message().find(c.rule) != std::string::npos);
  }
}

TEST_CASE("a record key is enc(R).enc(H).<kind directory>.enc(id)") {
  CHECK(record_key("github.com/org/r", "box1", Kind::kReservation, "res-1") ==
        "github=2Ecom=2Forg=2Fr.box1.reservations.res-1");
  CHECK(record_key("r", "h", Kind::kDependency, "a.b:c") == "r.h.dependencies.a=2Eb=3Ac");
  CHECK(host_prefix("github.com/org/r", "box 1") == "github=2Ecom=2Forg=2Fr.box=201.");
}

TEST_CASE("every key a host writes starts with its host prefix") {
  std::string prefix = host_prefix("r.x", "h.y");
  for (Kind kind : kAllKinds) CHECK(record_key("r.x", "h.y", kind, "id").starts_with(prefix));
  CHECK_FALSE(record_key("r.x", "h.yz", Kind::kTask, "id").starts_with(prefix));
}

TEST_CASE("record keys round-trip through parse_record_key for every kind") {
  for (Kind kind : kAllKinds) {
    for (std::string_view id : {"t1", "a.b", "x:y-z_1", ""}) {
      std::string key = record_key("git.example/o:r", "host=1", kind, id);
      CAPTURE(key);
      std::optional<RecordKey> parsed = parse_record_key(key);
      REQUIRE(parsed.has_value());
      CHECK(parsed->repo == "git.example/o:r");
      CHECK(parsed->host == "host=1");
      CHECK(parsed->kind == kind);
      CHECK(parsed->id == id);
    }
  }
}

TEST_CASE("parse_record_key refuses a key with three or five tokens") {
  CHECK_FALSE(parse_record_key("r.h.tasks").has_value());
  CHECK_FALSE(parse_record_key("r.h.tasks.t1.extra").has_value());
  CHECK_FALSE(parse_record_key("r.h.tasks.t1.").has_value());
  CHECK_FALSE(parse_record_key("").has_value());
}

TEST_CASE("parse_record_key refuses an unknown kind, a singular kind name, or a bad token") {
  CHECK_FALSE(parse_record_key("r.h.leases.t1").has_value());
  CHECK_FALSE(parse_record_key("r.h.task.t1").has_value());
  CHECK_FALSE(parse_record_key("r=2e.h.tasks.t1").has_value());  // lowercase hex
  CHECK_FALSE(parse_record_key("r.h=.tasks.t1").has_value());    // dangling '='
  CHECK_FALSE(parse_record_key("r.h.tasks.t=41").has_value());   // escaped plain byte
  CHECK_FALSE(parse_record_key("r..tasks.t1").has_value());      // empty token
}

TEST_CASE("parse_record_key refuses a repo or host that is not a valid id") {
  CHECK_FALSE(parse_record_key("=.h.tasks.t1").has_value());      // empty repo
  CHECK_FALSE(parse_record_key("r.a=20b.tasks.t1").has_value());  // host with a space
  CHECK(parse_record_key("r.h.tasks.=").has_value());             // the id is the caller's to check
}
