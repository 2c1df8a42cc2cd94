// argparse_parser: argv read, refused and explained as Python 3.11's argparse
// does. Every expected text here is what python3.11 printed for the same
// parser (Muse's `muse coord watch` flags, plus coordctl's) and the same argv.
#include "client/argparse_parser.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "client/python_json.hpp"

using coordd::ArgparseParser;
using coordd::ParseResult;

namespace {

const std::vector<std::string> kKinds = {"claims",   "dependencies", "heartbeats", "intents",
                                         "releases", "reservations", "tasks"};
const char* const kDescription =
    "Stream coordination events in real time.\n\nSnapshots first, then changes.\n";
const char* const kEpilog =
    "Examples:\n  muse coord watch --once\n  muse coord watch --json --kind reservations\n";
const char* const kChoices =
    "(choose from 'claims', 'dependencies', 'heartbeats', 'intents', 'releases', 'reservations', "
    "'tasks')";

enum class Extras { none, second_tier, same_tier };

// Muse's parser, flags and help as Muse declares them; then, unless `none`,
// coordctl's, as a second tier of abbreviations or (as plain argparse would
// have them) the same tier.
ArgparseParser watch_parser(Extras extras = Extras::second_tier) {
  ArgparseParser p("muse coord watch", kDescription, kEpilog);
  p.add_flag({"--once"}, "once", "Emit current state as snapshot events, then exit.", true);
  p.add_value({"--timeout"}, "timeout", "SECONDS",
              "Stop watching after SECONDS seconds (>= 0). 0 is equivalent to --once.",
              coordd::python_float_check(), true);
  p.add_value({"--max-events"}, "max_events", "N",
              "Exit after emitting N events (>= 1). Useful for batch processing without a "
              "time-based timeout.",
              coordd::python_int_check(), true);
  p.add_value({"--poll-interval"}, "poll_interval", "SECS",
              "Polling/kqueue-timeout interval in seconds (default: 1.0; range: [0.01, 3600.0]).",
              coordd::python_float_check(), true);
  p.add_value({"--run-id"}, "run_id", "RUNID",
              "Only emit events where data.run_id matches. Maximum 256 characters.", nullptr, true);
  p.add_value({"--branch", "-b"}, "branch_filter", "BRANCH",
              "Only emit events where data.branch matches.", nullptr, true);
  p.add_value({"--kind"}, "kind", "KIND",
              "Only emit events for this kind (claims | dependencies | heartbeats | intents | "
              "releases | reservations | tasks).",
              coordd::choices_check(kKinds, {"reservation", "intent"}), true);
  p.add_flag({"--json", "-j"}, "json_out", "Emit machine-readable JSON events on stdout.", true);
  if (extras == Extras::none) return p;
  bool primary = extras == Extras::same_tier;
  p.add_value({"--root"}, "root", "DIR",
              "Repository to watch. Default: the nearest ancestor of the working directory "
              "holding .muse/, else the working directory.",
              nullptr, primary);
  p.add_flag({"--require-daemon"}, "require_daemon",
             "Fail (exit 1) instead of watching standalone when no coordd serves the repository.",
             primary);
  p.add_value({"--socket"}, "socket", "PATH", "coordd's socket.", nullptr, primary);
  p.add_value({"--format", "-f"}, "format", "text|json", "Output format: text (default) or json.",
              nullptr, primary);
  p.add_flag({"--coordd-events"}, "coordd_events", "Also print coordd's own events.", primary);
  return p;
}

std::string error_of(const ArgparseParser& parser, const std::vector<std::string>& args) {
  ParseResult r = parser.parse(args);
  return r.error.value_or("(no error)");
}

std::string error_of(const std::vector<std::string>& args) {
  return error_of(watch_parser(), args);
}

// The value given for `dest`, "(absent)" if none, "[]" where argparse stored an empty list.
std::string value_of(const ParseResult& r, const std::string& dest) {
  auto it = r.values.find(dest);
  if (it == r.values.end()) return "(absent)";
  return it->second.value_or("[]");
}

std::string value_of(const std::vector<std::string>& args, const std::string& dest) {
  ParseResult r = watch_parser().parse(args);
  REQUIRE_MESSAGE(!r.error, *r.error);
  return value_of(r, dest);
}

bool help_of(const std::vector<std::string>& args) {
  return watch_parser().parse(args).help_requested;
}

}  // namespace

TEST_SUITE("argparse") {
  TEST_CASE(
      "argparse: an option whose value is missing is an error, not the next flag taken as its "
      "value") {
    CHECK(error_of({"--run-id", "--once"}) == "argument --run-id: expected one argument");
    CHECK(error_of({"--branch"}) == "argument --branch/-b: expected one argument");
    CHECK(error_of({"--timeout", "-h"}) == "argument --timeout: expected one argument");
    CHECK(error_of({"--branch", "--", "x"}) == "argument --branch/-b: expected one argument");
  }

  TEST_CASE("argparse: a value is attached with '=', or to a short option directly") {
    CHECK(value_of({"--run-id=agent-42"}, "run_id") == "agent-42");
    CHECK(value_of({"-bmain"}, "branch_filter") == "main");
    CHECK(value_of({"-b=main"}, "branch_filter") == "main");
    CHECK(value_of({"--branch="}, "branch_filter") == "");
    CHECK(value_of({"--ti=5"}, "timeout") == "5");
  }

  TEST_CASE(
      "argparse: a value that looks like a negative number, or holds a space, is a value despite "
      "its dash") {
    CHECK(value_of({"--timeout", "-1"}, "timeout") == "-1");
    CHECK(value_of({"--timeout", "-1.5"}, "timeout") == "-1.5");
    CHECK(value_of({"--timeout", "-.5"}, "timeout") == "-.5");
    CHECK(value_of({"--branch", "-x y"}, "branch_filter") == "-x y");
    // ...unless it begins with a short option: "-b y" is -b with the value " y".
    CHECK(error_of({"--branch", "-b y"}) == "argument --branch/-b: expected one argument");
  }

  TEST_CASE("argparse: a repeated option keeps its last value") {
    CHECK(value_of({"--branch", "a", "-b", "b", "--branch", "c"}, "branch_filter") == "c");
  }

  TEST_CASE("argparse: an unambiguous prefix of a long option is that option") {
    CHECK(value_of({"--max", "3"}, "max_events") == "3");
    CHECK(watch_parser().parse({"--js"}).flags.count("json_out") == 1);
    CHECK(watch_parser().parse({"--o"}).flags.count("once") == 1);
  }

  TEST_CASE(
      "argparse: an ambiguous prefix is an error naming each candidate, in declaration order") {
    ArgparseParser plain = watch_parser(Extras::same_tier);
    CHECK(error_of(plain, {"--r", "x"}) ==
          "ambiguous option: --r could match --run-id, --root, --require-daemon");
    CHECK(error_of(plain, {"--r=x"}) ==
          "ambiguous option: --r=x could match --run-id, --root, --require-daemon");
  }

  TEST_CASE(
      "argparse: abbreviations resolve among the primary options first, then among the others") {
    ParseResult r = watch_parser().parse({"--r", "x", "--ro", "/repo", "--re", "--f", "json"});
    REQUIRE(!r.error);
    CHECK(value_of(r, "run_id") == "x");
    CHECK(value_of(r, "root") == "/repo");
    CHECK(r.flags.count("require_daemon") == 1);
    CHECK(value_of(r, "format") == "json");
    // Ambiguity among the others is reported among them alone.
    ArgparseParser p("p", "", "");
    p.add_flag({"--once"}, "once", "", true);
    p.add_value({"--root"}, "root", "DIR", "", nullptr, false);
    p.add_flag({"--require-daemon"}, "require_daemon", "", false);
    CHECK(error_of(p, {"--r"}) == "ambiguous option: --r could match --root, --require-daemon");
  }

  TEST_CASE(
      "argparse: ambiguity is found before any argument is consumed, so it beats an earlier bad "
      "value or -h") {
    ArgparseParser plain = watch_parser(Extras::same_tier);
    std::string ambiguous = "ambiguous option: --r could match --run-id, --root, --require-daemon";
    CHECK(error_of(plain, {"--timeout", "abc", "--r", "x"}) == ambiguous);
    CHECK(error_of(plain, {"-h", "--r"}) == ambiguous);
    CHECK(error_of(plain, {"--branch", "--r"}) == ambiguous);
  }

  TEST_CASE("argparse: unknown options and stray values are collected and reported last") {
    ParseResult r = watch_parser().parse({"--foo", "bar"});
    CHECK(r.error == "unrecognized arguments: --foo bar");
    CHECK(r.unrecognized == std::vector<std::string>{"--foo", "bar"});
    CHECK(error_of({"a", "--once", "b", "-x", "c"}) == "unrecognized arguments: a b -x c");
    CHECK(error_of({"-1x", "-", ""}) == "unrecognized arguments: -1x - ");
    CHECK(error_of({"--bogus", "--timeout", "abc"}) ==
          "argument --timeout: invalid float value: 'abc'");
    CHECK(help_of({"--foo", "-h"}));
  }

  TEST_CASE("argparse: everything after -- is a value, and so unrecognized") {
    CHECK(error_of({"--once", "--", "a", "b"}) == "unrecognized arguments: -- a b");
    CHECK(error_of({"--", "--once"}) == "unrecognized arguments: -- --once");
    // Attached, "--" is dropped from the value: argparse stores an empty list, unchecked.
    CHECK(value_of({"--branch=--"}, "branch_filter") == "[]");
    CHECK(value_of({"--timeout=--"}, "timeout") == "[]");
  }

  TEST_CASE("argparse: a flag given an explicit value is an error") {
    CHECK(error_of({"--json=x"}) == "argument --json/-j: ignored explicit argument 'x'");
    CHECK(error_of({"--js=x"}) == "argument --json/-j: ignored explicit argument 'x'");
    CHECK(error_of({"--once="}) == "argument --once: ignored explicit argument ''");
    CHECK(error_of({"-j=x"}) == "argument --json/-j: ignored explicit argument 'x'");
  }

  TEST_CASE("argparse: single-dash flags cluster, and a cluster may end in -b and its value") {
    ParseResult r = watch_parser().parse({"-jb", "main"});
    CHECK(r.flags.count("json_out") == 1);
    CHECK(value_of(r, "branch_filter") == "main");
    CHECK(value_of({"-jbmain"}, "branch_filter") == "main");
    CHECK(value_of({"-jb=main"}, "branch_filter") == "=main");
    CHECK(value_of({"-jfjson"}, "format") == "json");
    CHECK(watch_parser().parse({"-jj"}).flags.count("json_out") == 1);
    CHECK(error_of({"-jx"}) == "argument --json/-j: ignored explicit argument 'x'");
    CHECK(error_of({"-jxyz"}) == "argument --json/-j: ignored explicit argument 'xyz'");
    CHECK(error_of(watch_parser(Extras::none), {"-jf", "json"}) ==
          "argument --json/-j: ignored explicit argument 'f'");
  }

  TEST_CASE("argparse: help is requested when -h is consumed, so only an earlier error beats it") {
    CHECK(help_of({"-h"}));
    CHECK(help_of({"--he"}));
    CHECK(help_of({"-jh"}));
    CHECK(help_of({"-hj"}));
    CHECK(help_of({"-h", "--timeout", "abc"}));
    CHECK(error_of({"--timeout", "abc", "-h"}) == "argument --timeout: invalid float value: 'abc'");
    CHECK(error_of({"-hx"}) == "argument -h/--help: ignored explicit argument 'x'");
  }

  TEST_CASE("argparse: a float value is checked as Python's float() reads it") {
    coordd::ValueCheck check = coordd::python_float_check();
    for (const char* good : {"1", " 1.5 ", "\t2\n", "1_000.5", "1e1_0", "inf", "-Infinity", "nAn",
                             "+nan", "1E-5", ".5", "5.", "+.5e-3", "1e500",
                             "\xc2\xa0"
                             "1",
                             "\xd9\xa1.\xd9\xa5" /* Arabic-Indic 1.5 */}) {
      CHECK_MESSAGE(check(good) == std::nullopt, good);
    }
    for (const char* bad : {"", " ", "abc", "1__0", "_1", "1_", "1_.5", "infinit", "in_f", ".",
                            "1e", "e5", "0x10", "- 1", "1 2", "nan(1)"}) {
      CHECK_MESSAGE(check(bad) == "invalid float value: " + coordd::python_repr(bad), bad);
    }
    CHECK(error_of({"--timeout", "0x10"}) == "argument --timeout: invalid float value: '0x10'");
    CHECK(error_of({"--timeout="}) == "argument --timeout: invalid float value: ''");
  }

  TEST_CASE("argparse: an int value is checked as Python's int() reads it") {
    coordd::ValueCheck check = coordd::python_int_check();
    for (const char* good :
         {"7", " 7 ", "-07", "+0", "1_000", "0_0", "\xd9\xa3" /* Arabic-Indic 3 */}) {
      CHECK_MESSAGE(check(good) == std::nullopt, good);
    }
    for (const char* bad : {"", "x", "1.0", "1e3", "0x10", "_1", "1__0", "1_", "+ 1", "inf"}) {
      CHECK_MESSAGE(check(bad) == "invalid int value: " + coordd::python_repr(bad), bad);
    }
    CHECK(check(std::string(4300, '1')) == std::nullopt);
    CHECK(check(std::string(4301, '0')) != std::nullopt);  // past int()'s 4300-digit limit
    CHECK(error_of({"--max-events", "1.0"}) == "argument --max-events: invalid int value: '1.0'");
  }

  TEST_CASE(
      "argparse: a choice is refused naming the listed choices, while extra spellings pass "
      "silently") {
    CHECK(error_of({"--kind", "foo"}) ==
          std::string("argument --kind: invalid choice: 'foo' ") + kChoices);
    CHECK(value_of({"--kind", "reservations"}, "kind") == "reservations");
    CHECK(value_of({"--kind", "reservation"}, "kind") == "reservation");
    CHECK(error_of({"--kind", "it's"}) ==
          std::string("argument --kind: invalid choice: \"it's\" ") + kChoices);
  }

  TEST_CASE("argparse: values are checked left to right, so the first bad one is reported") {
    CHECK(error_of({"--timeout", "abc", "--max-events", "x"}) ==
          "argument --timeout: invalid float value: 'abc'");
    CHECK(error_of({"--max-events", "x", "--timeout", "abc"}) ==
          "argument --max-events: invalid int value: 'x'");
    CHECK(error_of({"--kind", "foo", "--timeout", "abc"}) ==
          std::string("argument --kind: invalid choice: 'foo' ") + kChoices);
  }

  TEST_CASE(
      "argparse: an error is the usage wrapped at the terminal's width, then PROG: error: "
      "MESSAGE") {
    CHECK(watch_parser().error_text("argument --run-id: expected one argument", 80) ==
          "usage: muse coord watch [-h] [--once] [--timeout SECONDS] [--max-events N]\n"
          "                        [--poll-interval SECS] [--run-id RUNID]\n"
          "                        [--branch BRANCH] [--kind KIND] [--json] [--root DIR]\n"
          "                        [--require-daemon] [--socket PATH]\n"
          "                        [--format text|json] [--coordd-events]\n"
          "muse coord watch: error: argument --run-id: expected one argument\n");
    ArgparseParser tiny("p", "", "");
    CHECK(tiny.usage_text(80) == "usage: p [-h]\n");
  }

  TEST_CASE("argparse: a prog too long for its usage line goes on a line of its own") {
    CHECK(watch_parser(Extras::none).usage_text(30) ==
          "usage: muse coord watch\n"
          "       [-h] [--once]\n"
          "       [--timeout SECONDS]\n"
          "       [--max-events N]\n"
          "       [--poll-interval SECS]\n"
          "       [--run-id RUNID]\n"
          "       [--branch BRANCH]\n"
          "       [--kind KIND]\n"
          "       [--json]\n");
  }

  TEST_CASE("argparse: help is laid out as argparse lays it out, description and epilog raw") {
    CHECK(watch_parser(Extras::none).help_text(80) ==
          "usage: muse coord watch [-h] [--once] [--timeout SECONDS] [--max-events N]\n"
          "                        [--poll-interval SECS] [--run-id RUNID]\n"
          "                        [--branch BRANCH] [--kind KIND] [--json]\n"
          "\n"
          "Stream coordination events in real time.\n"
          "\n"
          "Snapshots first, then changes.\n"
          "\n"
          "options:\n"
          "  -h, --help            show this help message and exit\n"
          "  --once                Emit current state as snapshot events, then exit.\n"
          "  --timeout SECONDS     Stop watching after SECONDS seconds (>= 0). 0 is\n"
          "                        equivalent to --once.\n"
          "  --max-events N        Exit after emitting N events (>= 1). Useful for batch\n"
          "                        processing without a time-based timeout.\n"
          "  --poll-interval SECS  Polling/kqueue-timeout interval in seconds (default:\n"
          "                        1.0; range: [0.01, 3600.0]).\n"
          "  --run-id RUNID        Only emit events where data.run_id matches. Maximum\n"
          "                        256 characters.\n"
          "  --branch BRANCH, -b BRANCH\n"
          "                        Only emit events where data.branch matches.\n"
          "  --kind KIND           Only emit events for this kind (claims | dependencies\n"
          "                        | heartbeats | intents | releases | reservations |\n"
          "                        tasks).\n"
          "  --json, -j            Emit machine-readable JSON events on stdout.\n"
          "\n"
          "Examples:\n"
          "  muse coord watch --once\n"
          "  muse coord watch --json --kind reservations\n");
  }

  TEST_CASE("argparse: help for the added options follows Muse's, wrapped the same way") {
    std::string help = watch_parser().help_text(80);
    std::string tail =
        "  --json, -j            Emit machine-readable JSON events on stdout.\n"
        "  --root DIR            Repository to watch. Default: the nearest ancestor of\n"
        "                        the working directory holding .muse/, else the working\n"
        "                        directory.\n"
        "  --require-daemon      Fail (exit 1) instead of watching standalone when no\n"
        "                        coordd serves the repository.\n"
        "  --socket PATH         coordd's socket.\n"
        "  --format text|json, -f text|json\n"
        "                        Output format: text (default) or json.\n"
        "  --coordd-events       Also print coordd's own events.\n"
        "\n"
        "Examples:\n";
    CHECK(help.find(tail) != std::string::npos);
  }

  TEST_CASE("argparse: narrow help breaks after the hyphens of compound words, as textwrap does") {
    std::string help = watch_parser(Extras::none).help_text(30);
    CHECK(help.find("  --poll-interval SECS\n"
                    "        Polling/kqueue-\n"
                    "        timeout interval in\n"
                    "        seconds (default:\n"
                    "        1.0; range: [0.01,\n"
                    "        3600.0]).\n") != std::string::npos);
    CHECK(help.find("  --json, -j\n"
                    "        Emit machine-\n"
                    "        readable JSON events\n"
                    "        on stdout.\n") != std::string::npos);
  }

  TEST_CASE("argparse: the width comes from COLUMNS, read as Python's int() reads it, else 80") {
    const char* saved = std::getenv("COLUMNS");
    std::optional<std::string> old = saved ? std::optional<std::string>(saved) : std::nullopt;
    setenv("COLUMNS", " 1_00 ", 1);
    CHECK(coordd::argparse_columns() == 100);
    setenv("COLUMNS", "wide", 1);
    CHECK(coordd::argparse_columns() == 80);
    setenv("COLUMNS", "0", 1);
    CHECK(coordd::argparse_columns() == 80);
    unsetenv("COLUMNS");
    CHECK(coordd::argparse_columns() == 80);
    if (old) setenv("COLUMNS", old->c_str(), 1);
  }

  TEST_CASE("argparse messages show values as Python's repr() shows them") {
    using coordd::python_repr;
    CHECK(python_repr("abc") == "'abc'");
    CHECK(python_repr("it's") == "\"it's\"");
    CHECK(python_repr("say \"hi\"") == "'say \"hi\"'");
    CHECK(python_repr("both ' and \"") == "'both \\' and \"'");
    CHECK(python_repr("back\\slash") == "'back\\\\slash'");
    CHECK(python_repr("\n\r\t") == "'\\n\\r\\t'");
    CHECK(python_repr(std::string("\0\x1b\x7f", 3)) == "'\\x00\\x1b\\x7f'");
    CHECK(python_repr("caf\xc3\xa9 \xf0\x9f\x98\x80") == "'caf\xc3\xa9 \xf0\x9f\x98\x80'");
    CHECK(python_repr("\xc2\xa0\xc2\xad\xc2\x85") == "'\\xa0\\xad\\x85'");
    CHECK(python_repr("\xe2\x80\xa8\xef\xbb\xbf\xcd\xb8") == "'\\u2028\\ufeff\\u0378'");
    CHECK(python_repr("\xf3\xa0\x80\x81\xf4\x8f\xbf\xbf") == "'\\U000e0001\\U0010ffff'");
    // Bytes that are not UTF-8 reach Python as surrogates (surrogateescape).
    CHECK(python_repr("\xff\xe2\x82"
                      "A\xed\xa0\x80") == "'\\udcff\\udce2\\udc82A\\udced\\udca0\\udc80'");
  }
}
