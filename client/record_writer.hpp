// Writing one Muse record into a repository as Muse does: the file's text to
// a dot-named temp file in the kind's directory (coordd and Muse ignore
// dot-files), flushed, then renamed to <id>.json, so a reader sees the whole
// record or none. Also what the writing commands (reserve, heartbeat,
// release) share: their exit statuses and how they print what they wrote.
// Blocking file I/O; main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "proto/muse_records.hpp"
#include "proto/status.hpp"

namespace coordd {

// Exit statuses of reserve, heartbeat and release.
inline constexpr int kWrittenExit = 0;
inline constexpr int kWriteFailedExit = 1;  // coordd's reply was an error, or the disk refused
inline constexpr int kUsageExit = 2;        // bad flags (and, as Muse, no repository found)
inline constexpr int kAddressHeldExit = 3;  // reserve --exclusive: an address is held
inline constexpr int kUnknownReservationExit = 4;  // heartbeat, release: no such local reservation
inline constexpr int kAlreadyReleasedExit = 5;     // heartbeat, release: it was released

// Writes `record` to <root>/.muse/coordination/<kind dir>/<id>.json,
// creating the kind directory if missing. Refuses (without writing) when
// .muse/coordination or the kind directory is a symlink, or a file of that
// name exists. Returns the path written.
Result<std::string> write_record(const std::string& root, const MuseRecord& record);

// The options every writing command takes: --json, --root, --socket, --timeout.
void add_writer_options(CLI::App* sub, bool& json, std::optional<std::string>& root,
                        std::string& socket, double& timeout);

// Prints the record's id, or with `json` the file's text, on stdout.
void print_written(const MuseRecord& record, bool json);

// "❌ message" on stderr (control characters stripped); returns `exit_code`.
int fail_with(int exit_code, const std::string& message);

}  // namespace coordd
