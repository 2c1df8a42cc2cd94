#include "tests/lossless/inotify_queue_limit.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace coordd::lossless {
namespace {

constexpr const char* kKnob = "/proc/sys/fs/inotify/max_queued_events";

bool write_knob(const std::string& value) {
  std::ofstream out(kKnob);
  out << value << '\n';
  out.flush();
  return bool(out);
}

}  // namespace

InotifyQueueLimit::InotifyQueueLimit(unsigned events) {
  if (::geteuid() != 0) {
    why_not_ = "not running as root";
    return;
  }
  std::ifstream in(kKnob);
  std::string saved;
  if (!(in >> saved)) {
    why_not_ = std::string("cannot read ") + kKnob;
    return;
  }
  if (!write_knob(std::to_string(events))) {
    why_not_ = std::string("cannot write ") + kKnob;
    write_knob(saved);
    return;
  }
  saved_ = saved;
  lowered_ = true;
}

InotifyQueueLimit::~InotifyQueueLimit() { restore(); }

void InotifyQueueLimit::restore() {
  if (!saved_) return;
  write_knob(*saved_);
  saved_.reset();
}

}  // namespace coordd::lossless
