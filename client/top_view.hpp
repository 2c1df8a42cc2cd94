// The screen of `coordctl top`: a TopModel laid out for a terminal of
// `rows` × `columns`. Every line fits the width (cut with "…", never
// wrapped) and there are exactly `rows` of them (fewer only when the model
// has less to show than a small screen holds), so the terminal is drawn by
// overwriting lines in place. Sections share the rows: each shows what fits,
// and more rows show more. Control characters in what coordd and agents sent
// are stripped here, never drawn. Pure.
#pragma once

#include <string>
#include <vector>

#include "client/top_model.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

struct TopScreen {
  int rows = 24;
  int columns = 80;
};

// The lines to show at `now` (wall time for what is left of each lease,
// steady time for the rates).
std::vector<std::string> render_top(const TopModel& model, TopScreen screen, WallTime now,
                                    TopClock::time_point steady_now);

// `text` cut to `width` code points, its last one "…" when cut.
std::string fit_width(const std::string& text, std::size_t width);

}  // namespace coordd
