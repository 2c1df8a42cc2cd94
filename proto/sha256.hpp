// SHA-256 (FIPS 180-4) of a byte string, as lowercase hex: what Python's
// hashlib.sha256(data).hexdigest() returns. Used for the content-addressed
// ids of the records coordctl writes. Pure; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace coordd {

// 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace coordd
