#pragma once

// Latency samples and their summary, printed as text or as one JSON object.

#include <cstdint>
#include <string>
#include <vector>

namespace streamgate::bench {

struct latency_summary {
  std::size_t count = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
};

// Sorts the samples (microseconds) and reads the percentiles by nearest rank.
latency_summary summarize(std::vector<std::uint32_t>& samples_us);

// "p50 1.23 ms  p99 4.56 ms  p99.9 7.89 ms  max 12.3 ms"
std::string to_text(const latency_summary& s);
// {"count":..,"p50_us":..,"p99_us":..,"p999_us":..,"max_us":..,"mean_us":..}
std::string to_json(const latency_summary& s);

}  // namespace streamgate::bench
