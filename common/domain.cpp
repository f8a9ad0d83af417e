#include "common/domain.hpp"

namespace streamgate {

std::string_view to_string(policy p) {
  switch (p) {
    case policy::deny: return "deny";
    case policy::evict_oldest: return "evict_oldest";
    case policy::monitor: return "monitor";
  }
  return "deny";
}

std::optional<policy> parse_policy(std::string_view text) {
  if (text == "deny") return policy::deny;
  if (text == "evict_oldest") return policy::evict_oldest;
  if (text == "monitor") return policy::monitor;
  return std::nullopt;
}

std::string_view to_string(end_reason r) {
  switch (r) {
    case end_reason::stopped: return "stopped";
    case end_reason::expired: return "expired";
    case end_reason::evicted: return "evicted";
    case end_reason::stop_all: return "stop_all";
    case end_reason::deleted: return "deleted";
  }
  return "stopped";
}

}  // namespace streamgate
