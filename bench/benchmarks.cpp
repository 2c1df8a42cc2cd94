#include "bench/benchmarks.hpp"

#include <ostream>

namespace coordd::bench {

support::WorkspaceOptions workspace_in(const BenchConfig& config, std::string label) {
  support::WorkspaceOptions options;
  options.label = std::move(label);
  options.parent = config.scratch;
  options.make_socket_dir = true;
  return options;
}

void progress(const BenchConfig& config, const std::string& line) {
  if (config.progress) *config.progress << line << std::endl;
}

Row unmeasured_row(std::string benchmark, std::string coordd_figure, std::string why,
                   std::string target, std::optional<bool> met) {
  why.insert(0, "not measured: ");
  Row row{std::move(benchmark), std::move(coordd_figure), why, "-", std::move(target), met, {}};
  row.numbers["peer_missing"] = why;
  return row;
}

Row ratio_row(std::string benchmark, std::string coordd_figure, std::string peer_figure,
              double ours, double theirs, const std::string& unit) {
  Row row{std::move(benchmark),
          std::move(coordd_figure),
          std::move(peer_figure),
          format_ratio(ours, theirs),
          "",
          {},
          {}};
  row.numbers = {{"coordd_" + unit, ours},
                 {"peer_" + unit, theirs},
                 {"ratio", theirs > 0 ? ours / theirs : 0.0}};
  return row;
}

}  // namespace coordd::bench
