#include "bench/benchmarks.hpp"

#include <ostream>

namespace coordd::bench {

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

}  // namespace coordd::bench
