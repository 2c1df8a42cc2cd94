// Summary statistics for the benchmarks: percentiles of one run's samples and
// the median of several runs' figures. Header-only; pure functions.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

namespace coordd::bench {

// p50/p99/max of a set of durations, in microseconds.
struct Percentiles {
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
  std::size_t count = 0;
};

// Nearest-rank percentile of sorted samples: the smallest sample with at
// least `fraction` of all samples at or below it.
inline std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  auto rank = std::size_t(std::ceil(fraction * double(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// `samples_ns` is taken by value because it is sorted.
inline Percentiles percentiles(std::vector<std::int64_t> samples_ns) {
  Percentiles out;
  out.count = samples_ns.size();
  if (samples_ns.empty()) return out;
  std::sort(samples_ns.begin(), samples_ns.end());
  out.p50_us = double(nearest_rank(samples_ns, 0.50)) / 1e3;
  out.p99_us = double(nearest_rank(samples_ns, 0.99)) / 1e3;
  out.max_us = double(samples_ns.back()) / 1e3;
  return out;
}

// The median of several runs' figures (the mean of the middle two when even).
inline double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// The median of one field across runs: median_of(runs, &Run::field).
template <typename Run, typename Field>
double median_of(const std::vector<Run>& runs, Field field) {
  std::vector<double> values;
  values.reserve(runs.size());
  for (const Run& run : runs) values.push_back(double(std::invoke(field, run)));
  return median(std::move(values));
}

}  // namespace coordd::bench
