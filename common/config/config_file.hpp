#pragma once

// The --config file: a JSON object whose keys are the flag names ({"lease-seconds": 30}).

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/config/option_table.hpp"
#include "common/error.hpp"

namespace streamgate::config_detail {

struct config_file_options {
  // In the file's order; each value as text, an array's items in order.
  std::vector<std::pair<std::string, std::vector<std::string>>> values;
  std::set<std::string, std::less<>> quoted;  // keys whose value the file quotes: "90"
};

// Refuses a file that cannot be read or is over 1 MiB, is not a JSON object, names a key twice or
// one that is not in `specs`, or gives a value of the wrong shape; messages quote the key and the
// path.
result<config_file_options> read_config_file(const std::vector<option_spec>& specs,
                                             const std::string& path);

}  // namespace streamgate::config_detail
