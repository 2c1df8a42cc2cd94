// Status: the outcome of an operation at an edge of coordd, in the manner of
// leveldb's Status: ok, or an error with the protocol's snake_case code (the
// `code` of an error line, PROTOCOL.md) and a message that names what was
// wrong and what to do. Cheap to copy; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace coordd {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
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

// A value, or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}        // NOLINT: implicit, as a return value
  Result(Status error) : status_(std::move(error)) {}  // NOLINT; must not be ok

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace coordd
