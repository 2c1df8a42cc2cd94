// Status: the outcome of an operation at an edge of coordd, in the manner of
// leveldb's Status: ok, or an error with the protocol's snake_case code (the
// `code` of an error line, PROTOCOL.md) and a message that names what was
// wrong and what to do. Cheap to copy; any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace coordd {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status ok_status() { return Status(); }
  static Status error(std::string code, std::string message) {
    return Status(std::move(code), std::move(message));
  }

  bool ok() const { return code_.empty(); }
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(std::string code, std::string message)
      : code_(std::move(code)), message_(std::move(message)) {}

  std::string code_;  // empty when ok
  std::string message_;
};

}  // namespace coordd
