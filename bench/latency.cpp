#include "latency.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace streamgate::bench {

namespace {

double rank(const std::vector<std::uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto index = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  index = std::clamp<std::size_t>(index, 1, sorted.size()) - 1;
  return sorted[index];
}

}  // namespace

latency_summary summarize(std::vector<std::uint32_t>& samples_us) {
  std::sort(samples_us.begin(), samples_us.end());
  latency_summary s;
  s.count = samples_us.size();
  if (s.count == 0) return s;
  s.p50_us = rank(samples_us, 0.50);
  s.p99_us = rank(samples_us, 0.99);
  s.p999_us = rank(samples_us, 0.999);
  s.max_us = samples_us.back();
  s.mean_us = std::accumulate(samples_us.begin(), samples_us.end(), 0.0) /
              static_cast<double>(s.count);
  return s;
}

std::string to_text(const latency_summary& s) {
  char line[160];
  std::snprintf(line, sizeof line, "p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms",
                s.p50_us / 1e3, s.p99_us / 1e3, s.p999_us / 1e3, s.max_us / 1e3);
  return line;
}

std::string to_json(const latency_summary& s) {
  char line[200];
  std::snprintf(line, sizeof line,
                R"({"count":%zu,"p50_us":%.0f,"p99_us":%.0f,"p999_us":%.0f,"max_us":%.0f,)"
                R"("mean_us":%.1f})",
                s.count, s.p50_us, s.p99_us, s.p999_us, s.max_us, s.mean_us);
  return line;
}

}  // namespace streamgate::bench
