#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace streamgate {

// The requestIds of starts this api sent and has no verdict for yet, so GET /api/v1/requests/{id}
// can answer "pending" rather than 404 while the worker decides. Io threads add, the bridge
// thread removes; counted, because a client may retry an id that is still in flight.
class in_flight_requests final {
 public:
  void add(const std::string& request_id);
  void remove(const std::string& request_id);
  bool contains(std::string_view request_id) const;

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  mutable std::mutex mutex_;
  std::unordered_map<std::string, int, string_hash, std::equal_to<>> counts_;
};

}  // namespace streamgate
