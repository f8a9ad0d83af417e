#include "api/http/descriptor_limit.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace streamgate {

std::size_t connections_within(std::size_t requested, std::size_t open_files_limit) {
  const std::size_t room =
      open_files_limit > reserved_descriptors ? open_files_limit - reserved_descriptors : 1;
  return std::max<std::size_t>(1, std::min(requested, room));
}

std::size_t raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? static_cast<std::size_t>(1) << 20
                                         : static_cast<std::size_t>(limit.rlim_cur);
}

}  // namespace streamgate
