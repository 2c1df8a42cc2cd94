#include "daemon/server/request_fields.hpp"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>

#include "daemon/bus/agent_message.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/server/event_journal.hpp"
#include "daemon/server/request.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

std::string kinds_expected() {
  std::string out;
  for (Kind kind : kAllKinds) {
    if (!out.empty()) out += ", ";
    out += kind_name(kind);
  }
  return out + " (or their plural directory names)";
}

void read_kinds(Request& request, EventFilter& filter) {
  auto add_kind = [&](const json::value& v) {
    std::optional<Kind> kind = v.is_string() ? parse_kind(v.get_string()) : std::nullopt;
    if (!kind) {
      request.fail("bad_field",
                   "'kinds' holds " + json::serialize(v) + "; expected " + kinds_expected());
      return;
    }
    filter.kinds.add(*kind);
  };
  for (std::string_view key : {"kinds", "kind"}) {
    const json::value* v = request.get(key);
    if (!v) continue;
    if (v->is_array()) {
      for (const json::value& item : v->get_array()) add_kind(item);
    } else {
      add_kind(*v);
    }
  }
}

// "origin": "local", "remote", or a list of host ids.
void read_origin(Request& request, EventFilter& filter) {
  const json::value* v = request.get("origin");
  if (!v) return;
  const char* expected = "'origin' must be \"local\", \"remote\" or a list of host ids";
  if (v->is_string()) {
    if (v->get_string() == "local") {
      filter.origin.scope = OriginFilter::Scope::kLocal;
    } else if (v->get_string() == "remote") {
      filter.origin.scope = OriginFilter::Scope::kRemote;
    } else {
      request.fail("bad_field", expected);
    }
    return;
  }
  if (!v->is_array()) {
    request.fail("bad_field", expected);
    return;
  }
  filter.origin.scope = OriginFilter::Scope::kHosts;
  for (const json::value& host : v->get_array()) {
    if (!host.is_string() || host.get_string().empty()) {
      request.fail("bad_field", expected);
      return;
    }
    filter.origin.hosts.emplace(host.get_string());
  }
}

// `path` without trailing "/" or "/.": with them, lstat follows a final symlink.
std::string without_trailing_dots(std::string path) {
  for (;;) {
    if (path.size() > 1 && path.back() == '/') {
      path.pop_back();
    } else if (path.size() > 2 && path.ends_with("/.")) {
      path.resize(path.size() - 2);
    } else {
      return path;
    }
  }
}

}  // namespace

std::string root_problem(const std::string& path) {
  struct stat st {};
  if (::lstat(without_trailing_dots(path).c_str(), &st) != 0) return "does not exist";
  if (S_ISLNK(st.st_mode)) return "is a symlink; give the real directory";
  if (!S_ISDIR(st.st_mode)) return "is not a directory";
  return "";
}

std::optional<EventFilter> read_filter(const Engine& engine, Request& request) {
  EventFilter filter;
  read_kinds(request, filter);
  read_origin(request, filter);
  if (auto run_id = request.string("run_id"); run_id && !run_id->empty()) filter.run_id = run_id;
  if (auto branch = request.string("branch"); branch && !branch->empty()) filter.branch = branch;
  if (auto root = request.string("root")) {
    std::error_code ec;
    std::string normal = std::filesystem::weakly_canonical(*root, ec).string();
    std::optional<RootId> id = engine.find_root(ec ? *root : normal);
    if (!id) {
      std::string watched;
      for (RootId r : engine.root_ids()) {
        watched += (watched.empty() ? "" : ", ") + engine.root_path(r);
      }
      request.fail("unknown_root", "'" + *root + "' is not a watched root; watched: " +
                                       (watched.empty() ? "none" : watched));
    } else {
      filter.root = id;
    }
  }
  if (request.failed()) return std::nullopt;
  return filter;
}

// "messages" and "agents": which agent messages a subscription taps.
void read_tap(Request& request, Subscription& tap) {
  if (auto mode = request.string("messages")) {
    if (*mode == "all") {
      tap.messages = Subscription::Messages::kAll;
    } else if (*mode == "broadcast") {
      tap.messages = Subscription::Messages::kBroadcast;
    } else if (*mode != "none") {
      request.fail("bad_field", "'messages' must be \"none\", \"broadcast\" or \"all\"");
    }
  }
  if (const json::value* v = request.get("agents")) {
    const json::array* list = v->if_array();
    for (std::size_t i = 0; list && i < list->size(); ++i) {
      if (!(*list)[i].is_string() || !is_valid_agent_id((*list)[i].get_string())) {
        list = nullptr;
      } else {
        tap.agents.emplace((*list)[i].get_string());
      }
    }
    if (!list) request.fail("bad_field", "'agents' must be an array of agent ids");
  }
}

// Resume: {"since":{"epoch":E,"seq":N}} replays from the journal instead of
// sending a snapshot, when this run still holds every event after N.
StartPoint read_since(Request& request, std::string_view epoch_now, std::uint64_t last_seq,
                      const EventJournal& journal) {
  StartPoint start;
  const json::value* v = request.get("since");
  if (!v) return start;
  const json::object* obj = v->if_object();
  const json::value* epoch = obj ? obj->if_contains("epoch") : nullptr;
  const json::value* seq = obj ? obj->if_contains("seq") : nullptr;
  bool seq_ok = seq && (seq->is_uint64() || (seq->is_int64() && seq->get_int64() >= 0));
  if (!epoch || !epoch->is_string() || !seq_ok) {
    request.fail("bad_field",
                 "'since' must be {\"epoch\": <string from hello>, \"seq\": <last seq received>}");
    return start;
  }
  std::uint64_t n = seq->is_uint64() ? seq->get_uint64() : std::uint64_t(seq->get_int64());
  if (epoch->get_string() != epoch_now) {
    start.not_resumed = "epoch_changed";
  } else if (n > last_seq) {
    request.fail("bad_field", "'since.seq' " + std::to_string(n) +
                                  " is ahead of this daemon's seq " + std::to_string(last_seq));
  } else if (!journal.covers(n)) {
    start.not_resumed = "compacted";
  } else {
    start.since = n;
  }
  return start;
}

}  // namespace coordd
