// EventPrinter: writes watch output to a stream, one line per event, flushed
// per line so a pipe reader sees each event at once. JSON mode prints exactly
// Muse's fields (schema_version, event_type, kind, id, timestamp, data; kind
// as Muse's code names it, the plural directory name) plus seq, root and, on
// `expired`, cause, as Python's json.dumps lays them out; text mode prints Muse's
// header, one line per event with full IDs and every agent-supplied string
// stripped of control characters, and the closing "(watch ended)".
// Events arrive as parsed protocol events (daemon lines or the in-process
// engine's bodies); unknown fields are ignored. Main thread.
#pragma once

#include <boost/json/object.hpp>
#include <cstdio>
#include <string>
#include <string_view>

namespace coordd {

// Colours are for a terminal only, and never when NO_COLOR is set non-empty
// (https://no-color.org).
bool colour_wanted(std::FILE* stream);

// One JSON output line (without '\n') for a protocol event.
std::string json_event_line(const boost::json::object& event);
// One text output line (without '\n'); ANSI colours when `colour`.
std::string text_event_line(const boost::json::object& event, bool colour);

class EventPrinter {
 public:
  enum class Format { kText, kJson };

  // `out` must stay open while the printer is used.
  EventPrinter(std::FILE* out, Format format, bool colour);

  // Text mode only: what is watched, through what (e.g. "daemon: inotify"),
  // the active filters ("" for none) and the rule line.
  void header(std::string_view root, std::string_view source, std::string_view filters);
  void event(const boost::json::object& event);
  // Text mode only, and only after a header: "(watch ended)".
  void footer();

 private:
  void write_line(std::string_view line);

  std::FILE* out_;
  Format format_;
  bool colour_;
  bool header_printed_ = false;
};

}  // namespace coordd
