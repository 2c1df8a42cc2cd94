// TopTerminal: the terminal `coordctl top` draws on. Opening it puts the
// terminal in raw mode (when stdin is one: no echo, keys one by one, Ctrl-C
// read as a key), switches to the alternate screen and hides the cursor;
// closing it (the destructor) restores all three. draw() overwrites the
// screen line by line from the top, each cleared to its end, then clears
// below: nothing is blanked first, so nothing flickers. SIGWINCH is
// delivered through a pipe (resize_fd) so a poll() loop sees it. One per
// process; main thread.
#pragma once

#include <termios.h>

#include <string>
#include <vector>

#include "client/top_view.hpp"

namespace coordd {

class TopTerminal {
 public:
  // Throws std::runtime_error when the terminal cannot be set up.
  TopTerminal();
  ~TopTerminal();
  TopTerminal(const TopTerminal&) = delete;
  TopTerminal& operator=(const TopTerminal&) = delete;

  // The window's size now (80×24 when the terminal does not say).
  TopScreen size() const;
  // Readable after a SIGWINCH; take_resize() empties it and says whether one came.
  int resize_fd() const { return resize_pipe_[0]; }
  bool take_resize();
  // stdin when it is a terminal (keys are read from it), else -1.
  int key_fd() const { return raw_ ? 0 : -1; }
  // Reads the keys waiting; true when one asks to quit (q, Q, Ctrl-C, Ctrl-D).
  bool quit_key();
  void draw(const std::vector<std::string>& lines);

 private:
  bool raw_ = false;
  termios saved_{};
  int resize_pipe_[2] = {-1, -1};
};

}  // namespace coordd
