// Making agent-supplied text safe for a terminal or a log line. Pure
// functions; safe from any thread. Stored data is never changed: these are
// applied only when printing.
#pragma once

#include <string>
#include <string_view>

namespace coordd {

// Removes ANSI/OSC escape sequences and every C0/C1 control character (and
// DEL), as Muse's sanitize_display does; invalid UTF-8 bytes become '?'.
std::string strip_control(std::string_view text);

// For logs: keeps everything visible, writing control bytes as \xNN so a
// hostile file name cannot rewrite the operator's terminal.
std::string escape_control(std::string_view text);

// `url` without its userinfo: "nats://user:secret@h:4222" -> "nats://h:4222".
// For logs, errors and status, which must never show a credential.
std::string without_userinfo(std::string_view url);

}  // namespace coordd
