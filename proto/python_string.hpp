// How Python's json.dumps (ensure_ascii, the default) writes a string:
// printable ASCII as is, everything else as \uXXXX (UTF-16 surrogate pairs
// above the BMP); a truncated UTF-8 sequence becomes U+FFFD. Shared by
// coordctl's --json output (exactly as Muse prints) and the records it
// writes as Muse does.
#pragma once

#include <string>
#include <string_view>

namespace coordd {

// Appends `text`, quoted and escaped as json.dumps writes it.
void append_python_json_string(std::string& out, std::string_view text);

}  // namespace coordd
