// ArgparseParser: a command line parsed as Python 3.11's argparse parses an
// ArgumentParser that has only optionals (prefix '-', allow_abbrev, formatter
// RawDescriptionHelpFormatter), so `coordctl watch` accepts, refuses and
// explains an argv exactly as `muse coord watch` does: abbreviations, -bVALUE,
// -jb clusters, --opt=value, "--", the error texts, the usage and --help.
// Declare every option (main thread), then parse: parse() and the text
// functions are const and share no state, so one parser may serve any thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace coordd {

// A check on an option's value as typed: nullopt to accept it, else the message
// argparse prints after "argument --timeout: ". It only validates; the caller converts.
using ValueCheck = std::function<std::optional<std::string>(std::string_view value)>;

// Python's float(), as argparse's type=float: "invalid float value: 'abc'".
ValueCheck python_float_check();
// Python's int() in base 10, as argparse's type=int: "invalid int value: 'x'".
ValueCheck python_int_check();
// argparse's choices=listed: "invalid choice: 'foo' (choose from 'claims', 'tasks')".
// The values in also_accepted pass too, though the message does not list them.
ValueCheck choices_check(std::vector<std::string> listed,
                         std::vector<std::string> also_accepted = {});

// What parse() found: help_requested, or an error, or neither (success). After
// help or an error, values and flags hold only what was consumed before it.
struct ParseResult {
  // dest -> the last value given. nullopt where argparse stores an empty list
  // instead of a string: the value was given as `--opt=--` (argparse drops the
  // "--" and runs no check).
  std::map<std::string, std::optional<std::string>, std::less<>> values;
  std::set<std::string, std::less<>> flags;  // dests of the flags given
  bool help_requested = false;               // -h/--help: print help_text(), exit 0
  std::optional<std::string> error;          // print error_text(*error), exit kArgparseErrorStatus
  // The arguments behind an "unrecognized arguments: ..." error. (Under a
  // subparser, argparse reports these from the top-level parser, with its usage.)
  std::vector<std::string> unrecognized;
};

inline constexpr int kArgparseErrorStatus = 2;

// The terminal width argparse lays text out for: $COLUMNS if it is a positive
// integer (as Python's int() reads it), else 80. Lines are at most this minus 2.
int argparse_columns();

// Usage:
//   ArgparseParser parser("muse coord watch", description, epilog);
//   parser.add_flag({"--json", "-j"}, "json_out", "Emit JSON.", /*primary=*/true);
//   parser.add_value({"--timeout"}, "timeout", "SECONDS", "Stop after SECONDS.",
//                    python_float_check(), /*primary=*/true);
//   ParseResult r = parser.parse(args);  // args: argv after the command's name
//
// Options are declared in argparse's add_argument order after the built-in
// -h/--help. An option string starts with '-' and is not "-"; no string is declared
// twice; a metavar is non-empty, without spaces or brackets. Help texts go through
// argparse's %-formatting: "%%" and "%(prog)s" are understood, nothing else.
// An abbreviation resolves among the primary options first (those of the
// parser being emulated) and only when none matches among the others, so
// added options never make an emulated abbreviation ambiguous.
class ArgparseParser {
 public:
  // description and epilog are printed raw, as RawDescriptionHelpFormatter does;
  // "" leaves one out.
  ArgparseParser(std::string prog, std::string description, std::string epilog);

  // A store_true option: present in ParseResult::flags when given.
  void add_flag(std::vector<std::string> option_strings, std::string dest, std::string help,
                bool primary);
  // An option taking exactly one value; `check` (may be empty) runs when the
  // value is consumed, left to right, so the first bad value is the one reported.
  void add_value(std::vector<std::string> option_strings, std::string dest, std::string metavar,
                 std::string help, ValueCheck check, bool primary);

  // Parses the arguments that follow the command's name.
  ParseResult parse(const std::vector<std::string>& args) const;

  // "usage: PROG [-h] [--once] ...\n", wrapped as argparse wraps it.
  std::string usage_text(int columns = argparse_columns()) const;
  // What --help prints on stdout.
  std::string help_text(int columns = argparse_columns()) const;
  // What argparse writes on stderr for an error: the usage, then "PROG: error: MESSAGE\n".
  std::string error_text(std::string_view message, int columns = argparse_columns()) const;

 private:
  struct Option {
    std::vector<std::string> strings;
    std::string dest;
    std::string metavar;  // empty for a flag
    std::string help;
    ValueCheck check;
    bool takes_value = false;
    bool primary = false;
  };
  // How argparse's _parse_optional reads one argument.
  struct Reading {
    int option = -1;  // index into options_, or -1: an unknown option
    std::string option_string;
    std::optional<std::string> explicit_value;
  };
  struct Classified;

  int exact_option(std::string_view option_string) const;
  std::vector<Reading> abbreviations(std::string_view arg) const;
  Classified classify(const std::string& arg) const;
  std::string invocation(const Option& option) const;

  std::string prog_;
  std::string description_;
  std::string epilog_;
  std::vector<Option> options_;  // -h/--help first
};

}  // namespace coordd
