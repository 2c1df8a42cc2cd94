#include "client/top_terminal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace coordd {

namespace {

int g_resize_write = -1;

void on_winch(int) {
  int saved = errno;
  if (g_resize_write >= 0) {
    [[maybe_unused]] ssize_t n = ::write(g_resize_write, "w", 1);  // full pipe: one is enough
  }
  errno = saved;
}

void write_all(const std::string& text) {
  const char* at = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, at, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the terminal is gone; nothing more to show
    at += n;
    left -= std::size_t(n);
  }
}

}  // namespace

TopTerminal::TopTerminal() {
  if (::pipe2(resize_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  g_resize_write = resize_pipe_[1];
  struct sigaction action {};
  action.sa_handler = on_winch;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGWINCH, &action, nullptr);

  if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
    termios raw = saved_;
    raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~tcflag_t(IXON | ICRNL);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    if (::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0) {
      throw std::runtime_error(std::string("cannot set the terminal to raw mode: ") +
                               std::strerror(errno));
    }
    raw_ = true;
  }
  write_all("\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");  // alternate screen, no cursor, blank once
}

TopTerminal::~TopTerminal() {
  write_all("\x1b[?25h\x1b[?1049l");
  if (raw_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGWINCH, &action, nullptr);
  g_resize_write = -1;
  ::close(resize_pipe_[0]);
  ::close(resize_pipe_[1]);
}

TopScreen TopTerminal::size() const {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_row == 0 || size.ws_col == 0) {
    return {};
  }
  return {int(size.ws_row), int(size.ws_col)};
}

bool TopTerminal::take_resize() {
  char buffer[64];
  bool any = false;
  while (::read(resize_pipe_[0], buffer, sizeof buffer) > 0) any = true;
  return any;
}

bool TopTerminal::quit_key() {
  if (!raw_) return false;
  char keys[64];
  ssize_t n = ::read(STDIN_FILENO, keys, sizeof keys);
  if (n == 0) return false;
  for (ssize_t i = 0; i < n; ++i) {
    if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 3 || keys[i] == 4) return true;
  }
  return false;
}

void TopTerminal::draw(const std::vector<std::string>& lines) {
  // Home, then each line over the old one and cleared to its end; below the
  // last, cleared to the end of the screen. One write, so a frame is whole.
  std::string frame = "\x1b[H";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    frame += lines[i];
    frame += "\x1b[K";
    if (i + 1 < lines.size()) frame += "\r\n";
  }
  frame += "\x1b[J";
  write_all(frame);
}

}  // namespace coordd
