#include "api/worker_link/in_flight_requests.hpp"

namespace streamgate {

void in_flight_requests::add(const std::string& request_id) {
  const std::lock_guard lock(mutex_);
  ++counts_[request_id];
}

void in_flight_requests::remove(const std::string& request_id) {
  const std::lock_guard lock(mutex_);
  const auto found = counts_.find(request_id);
  if (found != counts_.end() && --found->second == 0) counts_.erase(found);
}

bool in_flight_requests::contains(std::string_view request_id) const {
  const std::lock_guard lock(mutex_);
  return counts_.find(request_id) != counts_.end();
}

}  // namespace streamgate
