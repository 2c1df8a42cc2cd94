#include "daemon/server/request.hpp"

namespace coordd {

std::string error_line(const boost::json::value* req, std::string_view code,
                       std::string_view message) {
  boost::json::object out;
  out["type"] = "error";
  if (req) out["req"] = *req;
  out["code"] = code;
  out["message"] = message;
  return boost::json::serialize(out) + "\n";
}

void Request::fail(std::string_view code, std::string_view message) {
  if (error_.empty()) error_ = error_line(req_, code, message);
}

}  // namespace coordd
