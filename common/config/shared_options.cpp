#include "common/config/shared_options.hpp"

#include "common/link_keys.hpp"

namespace streamgate::config_detail {

void read_key_from_file(option_reader& options, std::string_view name, std::string& key) {
  const std::string* file = options.value(name);
  if (file == nullptr) return;
  auto read = read_key_file(*file);
  if (!read)
    options.fail(options.source_of(name) + ": " + read.error().message);
  else
    key = std::move(*read);
}

}  // namespace streamgate::config_detail
