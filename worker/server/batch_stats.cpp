#include "worker/server/batch_stats.hpp"

namespace streamgate {

void batch_stats::observe(std::size_t requests) {
  if (requests == 0) return;
  ++batches_;
  requests_ += requests;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (requests <= bounds[i]) {
      ++counts_[i];
      break;
    }
  }
}

std::string batch_stats::to_json(std::optional<std::uint64_t> active_streams,
                                 const decision_counters& d) const {
  std::string out = R"({"batches":)" + std::to_string(batches_) + R"(,"requests":)" +
                    std::to_string(requests_) + R"(,"batchSize":[)";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts_[i];
    if (i > 0) out += ',';
    out += '[' + std::to_string(bounds[i]) + ',' + std::to_string(cumulative) + ']';
  }
  out += ']';
  if (active_streams) out += R"(,"activeStreams":)" + std::to_string(*active_streams);
  out += R"(,"decisions":{"allowed":)" + std::to_string(d.allowed) + R"(,"denied":)" +
         std::to_string(d.denied) + R"(,"overLimit":)" + std::to_string(d.over_limit) +
         R"(,"evicted":)" + std::to_string(d.evicted) + R"(,"expired":)" +
         std::to_string(d.expired) + R"(,"replayed":)" + std::to_string(d.replayed) +
         R"(,"conflicts":)" + std::to_string(d.conflicts) + R"(,"nearLimit":)" +
         std::to_string(d.near_limit) + '}';
  out += '}';
  return out;
}

}  // namespace streamgate
