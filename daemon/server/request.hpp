// Request: one parsed request line with typed field access for the
// RequestHandler. The first problem found is kept as the error reply (code
// and message naming the field and what is expected); later accessors then
// return nothing. Reactor thread only.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coordd {

class Request {
 public:
  explicit Request(boost::json::object& obj) : obj_(obj) {
    if (auto it = obj_.find("req"); it != obj_.end()) {
      if (it->value().is_object() || it->value().is_array()) {
        fail("bad_field", "'req' must be a JSON scalar (string, number, boolean or null)");
      } else {
        req_ = &it->value();
      }
    }
  }

  const boost::json::value* req() const { return req_; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  void fail(std::string_view code, std::string_view message);

  // A reply object with "type" and, when the request had one, "req".
  boost::json::object reply(std::string_view type) const {
    boost::json::object out;
    out["type"] = type;
    if (req_) out["req"] = *req_;
    return out;
  }

  const boost::json::value* get(std::string_view key) const {
    auto it = obj_.find(key);
    return it == obj_.end() || it->value().is_null() ? nullptr : &it->value();
  }

  std::optional<std::string> string(std::string_view key) {
    const boost::json::value* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      fail_field(key, "must be a string");
      return std::nullopt;
    }
    return std::string(v->get_string());
  }

  bool boolean(std::string_view key, bool fallback) {
    const boost::json::value* v = get(key);
    if (!v) return fallback;
    if (!v->is_bool()) {
      fail_field(key, "must be true or false");
      return fallback;
    }
    return v->get_bool();
  }

  std::optional<std::uint64_t> count(std::string_view key) {
    const boost::json::value* v = get(key);
    if (!v) return std::nullopt;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return std::uint64_t(v->get_int64());
    fail_field(key, "must be a non-negative integer");
    return std::nullopt;
  }

 private:
  // "'key' must be ...": built by appending, because GCC 12's -O3 flags
  // `"literal" + std::string` with a false -Werror=restrict.
  void fail_field(std::string_view key, std::string_view must) {
    std::string message;
    message.reserve(key.size() + must.size() + 3);
    message.append("'").append(key).append("' ").append(must);
    fail("bad_field", message);
  }

  boost::json::object& obj_;
  const boost::json::value* req_ = nullptr;
  std::string error_;
};

}  // namespace coordd
