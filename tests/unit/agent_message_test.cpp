// validate_message and is_valid_agent_id: the nine kinds of rustagent's
// WorkerMessage, field by field, who may send agent_id, custom "x-" kinds,
// and the agent id alphabet.
#include "daemon/bus/agent_message.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace coordd;
namespace json = boost::json;

namespace {

const std::optional<std::string> kSender = "w1";

// validate_message's verdict as text: "" when valid, else its message (a
// failure is always bad_message).
std::string problem_of(json::object& message, const std::optional<std::string>& sender) {
  Status status = validate_message(message, sender);
  if (!status.ok()) CHECK(status.code() == "bad_message");
  return status.message();
}
const std::optional<std::string> kAnonymous = std::nullopt;

// One kind: a message `kSender` may send, and for each field a value of the
// wrong type (a field may appear more than once, with different wrong values).
struct KindCase {
  std::string kind;
  json::object valid;
  std::vector<std::pair<std::string, json::value>> wrong_types;
};

std::vector<KindCase> all_kinds() {
  const json::object node{{"id", "n1"}, {"title", "split the parser"}};
  return {
      {"progress_report",
       {{"kind", "progress_report"}, {"agent_id", "w1"}, {"turn", 3}, {"summary", "halfway"}},
       {{"agent_id", 7}, {"turn", "3"}, {"turn", -1}, {"turn", 1.5}, {"summary", 4}}},
      {"task_completed",
       {{"kind", "task_completed"}, {"agent_id", "w1"}, {"task_id", "t1"}, {"summary", "done"}},
       {{"agent_id", true}, {"task_id", 1}, {"summary", json::array{"done"}}}},
      {"task_blocked",
       {{"kind", "task_blocked"}, {"agent_id", "w1"}, {"task_id", "t1"}, {"reason", "flaky"}},
       {{"agent_id", json::array{"w1"}}, {"task_id", false}, {"reason", json::object{}}}},
      {"needs_decision",
       {{"kind", "needs_decision"}, {"agent_id", "w1"}, {"task_id", "t1"}, {"decision", node}},
       {{"agent_id", 1}, {"task_id", 2}, {"decision", "pick one"}}},
      {"node_created",
       {{"kind", "node_created"}, {"agent_id", "w1"}, {"parent_id", "p1"}, {"node", node}},
       {{"agent_id", 1}, {"parent_id", 2}, {"node", json::array{}}}},
      {"cancel", {{"kind", "cancel"}, {"reason", "superseded"}}, {{"reason", 5}}},
      {"additional_context",
       {{"kind", "additional_context"}, {"content", "rerun once"}},
       {{"content", json::object{{"text", "x"}}}}},
      {"review_request",
       {{"kind", "review_request"},
        {"work_package_id", "wp1"},
        {"changed_files", json::array{"src/a.cpp", "src/b.cpp"}}},
       {{"work_package_id", 9},
        {"changed_files", "src/a.cpp"},
        {"changed_files", json::array{"a", 1}}}},
      {"review_feedback",
       {{"kind", "review_feedback"}, {"approved", true}, {"comments", json::array{"nit"}}},
       {{"approved", "yes"}, {"approved", 1}, {"comments", json::array{1, 2}}}},
  };
}

bool names(const std::string& problem, const std::string& field) {
  return problem.find("message." + field) != std::string::npos;
}

}  // namespace

TEST_CASE("a valid message of each of the nine kinds passes") {
  std::vector<KindCase> kinds = all_kinds();
  REQUIRE(kinds.size() == 9);
  for (KindCase& k : kinds) {
    CAPTURE(k.kind);
    CHECK(problem_of(k.valid, kSender) == "");
  }
}

TEST_CASE("a message of each kind missing any one of its fields fails, naming that field") {
  for (const KindCase& k : all_kinds()) {
    for (const auto& [field, wrong] : k.wrong_types) {
      if (field == "agent_id") continue;  // filled in from the sender, see below
      CAPTURE(k.kind);
      CAPTURE(field);
      json::object message = k.valid;
      message.erase(field);

      std::string problem = problem_of(message, kSender);

      CHECK(names(problem, field));
    }
  }
}

TEST_CASE("a message of each kind with any one field of the wrong type fails, naming that field") {
  for (const KindCase& k : all_kinds()) {
    for (const auto& [field, wrong] : k.wrong_types) {
      CAPTURE(k.kind);
      CAPTURE(field);
      std::string wrong_value = json::serialize(wrong);
      CAPTURE(wrong_value);
      json::object message = k.valid;
      message[field] = wrong;

      std::string problem = problem_of(message, kSender);

      CHECK(names(problem, field));
    }
  }
}

TEST_CASE("a kind that carries agent_id gets the sender's id when agent_id is absent or null") {
  json::object absent{{"kind", "task_completed"}, {"task_id", "t1"}, {"summary", "done"}};
  json::object null_id = absent;
  null_id["agent_id"] = nullptr;

  CHECK(problem_of(absent, kSender) == "");
  CHECK(problem_of(null_id, kSender) == "");

  CHECK(absent.at("agent_id") == "w1");
  CHECK(null_id.at("agent_id") == "w1");
}

TEST_CASE("an agent_id naming another agent is rejected: agents may only send as themselves") {
  json::object spoofed{
      {"kind", "progress_report"}, {"agent_id", "w2"}, {"turn", 1}, {"summary", "not me"}};

  std::string problem = problem_of(spoofed, kSender);

  CHECK(names(problem, "agent_id"));
  CHECK(problem.find("w2") != std::string::npos);
  CHECK(spoofed.at("agent_id") == "w2");  // left as it was, not rewritten
}

TEST_CASE("an anonymous sender cannot send a kind that carries agent_id, with or without one") {
  json::object without{{"kind", "task_blocked"}, {"task_id", "t1"}, {"reason", "stuck"}};
  json::object with = without;
  with["agent_id"] = "w1";

  CHECK(names(problem_of(without, kAnonymous), "agent_id"));
  CHECK(names(problem_of(with, kAnonymous), "agent_id"));
  CHECK_FALSE(without.contains("agent_id"));
}

TEST_CASE("an anonymous sender may send the kinds without agent_id") {
  json::object cancel{{"kind", "cancel"}, {"reason", "superseded"}};

  CHECK(problem_of(cancel, kAnonymous) == "");
  CHECK_FALSE(cancel.contains("agent_id"));
}

TEST_CASE("a custom kind with the x- prefix passes unchecked and unchanged") {
  json::object custom{{"kind", "x-custom"}, {"anything", json::array{1, "two"}}};
  const json::object before = custom;

  CHECK(problem_of(custom, kSender) == "");
  CHECK(problem_of(custom, kAnonymous) == "");
  CHECK(custom == before);
}

TEST_CASE("an unknown kind is rejected, naming the kind and listing the known ones") {
  json::object message{{"kind", "ProgressReport"}, {"agent_id", "w1"}};

  std::string problem = problem_of(message, kSender);

  CHECK(names(problem, "kind"));
  CHECK(problem.find("ProgressReport") != std::string::npos);
  CHECK(problem.find("progress_report") != std::string::npos);
  CHECK(problem.find("x-") != std::string::npos);
}

TEST_CASE("a message without a string kind is rejected, naming kind") {
  json::object missing{{"content", "no kind"}};
  json::object number{{"kind", 5}, {"content", "numbered kind"}};

  CHECK(names(problem_of(missing, kSender), "kind"));
  CHECK(names(problem_of(number, kSender), "kind"));
}

TEST_CASE("an agent id is 1 to 128 characters long") {
  CHECK_FALSE(is_valid_agent_id(""));
  CHECK(is_valid_agent_id("a"));
  CHECK(is_valid_agent_id(std::string(128, 'a')));
  CHECK_FALSE(is_valid_agent_id(std::string(129, 'a')));
}

TEST_CASE("an agent id may hold letters, digits and . _ : @ -") {
  CHECK(is_valid_agent_id("worker-3"));
  CHECK(is_valid_agent_id("orch@host:4242"));
  CHECK(is_valid_agent_id("A.b_C-9"));
  CHECK(is_valid_agent_id("@"));
  CHECK(is_valid_agent_id(":"));
}

TEST_CASE("an agent id may not hold a slash, a space, a quote or any other character") {
  CHECK_FALSE(is_valid_agent_id("team/worker"));
  CHECK_FALSE(is_valid_agent_id("worker 3"));
  CHECK_FALSE(is_valid_agent_id("w\"1"));  // ids are written into JSON unescaped
  CHECK_FALSE(is_valid_agent_id("w\\1"));
  CHECK_FALSE(is_valid_agent_id("w1\n"));
  CHECK_FALSE(is_valid_agent_id("w\xc3\xa9"));  // é
  CHECK_FALSE(is_valid_agent_id(std::string("w\0001", 3)));
}
