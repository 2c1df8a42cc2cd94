#include "daemon/server/request.hpp"

#include "proto/wire.hpp"

namespace coordd {

void Request::fail(std::string_view code, std::string_view message) {
  if (error_.empty()) error_ = error_line(req_, code, message);
}

}  // namespace coordd
