#include "daemon/service/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace coordd {
namespace {

std::string g_log_file;

// %* → "<N>", the syslog priority of the message's level (sd-daemon(3)).
class JournalPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    char priority = '6';
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        priority = '7';
        break;
      case spdlog::level::info:
        priority = '6';
        break;
      case spdlog::level::warn:
        priority = '4';
        break;
      case spdlog::level::err:
        priority = '3';
        break;
      case spdlog::level::critical:
        priority = '2';
        break;
      default:
        break;
    }
    const char text[3] = {'<', priority, '>'};
    dest.append(text, text + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JournalPriorityFlag>();
  }
};

void install(std::shared_ptr<spdlog::logger> logger, bool journal) {
  if (journal) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JournalPriorityFlag>('*').set_pattern("%*%v");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  logger->flush_on(spdlog::level::info);
  spdlog::level::level_enum level =
      spdlog::default_logger() ? spdlog::default_logger()->level() : spdlog::level::info;
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  return ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

Status setup_logging(const std::string& file, spdlog::level::level_enum level) {
  g_log_file = file;
  std::shared_ptr<spdlog::logger> logger;
  bool journal = false;
  if (file.empty()) {
    journal = stderr_is_journal();
    if (journal) {
      logger = std::make_shared<spdlog::logger>("coordd",
                                                std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else {
      logger = std::make_shared<spdlog::logger>(
          "coordd", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    }
  } else {
    try {
      logger = std::make_shared<spdlog::logger>(
          "coordd", std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false));
    } catch (const spdlog::spdlog_ex& e) {
      return Status::error("log_file", "cannot open --log-file " + file + ": " + e.what());
    }
  }
  install(logger, journal);
  spdlog::set_level(level);
  return Status();
}

void reopen_log() {
  if (g_log_file.empty()) return;
  Status reopened = setup_logging(g_log_file, spdlog::default_logger()->level());
  if (!reopened.ok()) spdlog::error("{}", reopened.message());
}

}  // namespace coordd
