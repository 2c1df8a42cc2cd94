#include "daemon/cluster/nats_api.hpp"

#include <dlfcn.h>

#include <mutex>

namespace coordd {

const NatsApi* load_nats_api(std::string& error) {
  static std::once_flag once;
  static NatsApi api;
  static std::string failure;
  std::call_once(once, [] {
    // Never closed: nats.c's threads may outlive every connection.
    void* library = ::dlopen(COORDD_LIBNATS, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      const char* why = ::dlerror();
      failure = std::string("cannot load ") + COORDD_LIBNATS + " (" + (why ? why : "?") +
                "); --cluster needs libnats (Debian: apt-get install libnats3.4)";
      return;
    }
#define COORDD_NATS_LOOKUP(name)                                            \
  api.name = reinterpret_cast<decltype(api.name)>(::dlsym(library, #name)); \
  if (api.name == nullptr && failure.empty()) {                             \
    failure = std::string(COORDD_LIBNATS) + " has no " #name                \
                                            ": not the libnats coordd was " \
                                            "built against";                \
  }
    COORDD_NATS_FUNCTIONS(COORDD_NATS_LOOKUP)
#undef COORDD_NATS_LOOKUP
  });
  if (!failure.empty()) {
    error = failure;
    return nullptr;
  }
  return &api;
}

}  // namespace coordd
