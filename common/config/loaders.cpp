// The public loaders of common/config.hpp: a program's table read from its sources.

#include <cstdlib>

#include "common/config.hpp"
#include "common/config/option_table.hpp"

namespace streamgate {

namespace config_detail {

template <class Config>
result<command_line<Config>> load_with_table(const option_table<Config>& table, int argc,
                                             const char* const argv[],
                                             const environment_lookup& env) {
  const std::vector<option_spec> specs(table.options.begin(), table.options.end());
  const auto parsed = parse_options(table.program, specs, argc, argv, env);
  if (!parsed) return parsed.error();
  command_line<Config> line;
  if (parsed->help_text) {
    line.help = true;
    line.help_text = *parsed->help_text;
    return line;
  }
  option_reader reader(parsed->sources);
  for (const option<Config>& row : table.options)
    if (row.read && reader.given(row.name)) row.read(reader, line.config);
  for (const option_read<Config>& check : table.checks)
    if (!reader.failed()) check(reader, line.config);
  if (reader.failed()) return reader.take_error();
  return line;
}

}  // namespace config_detail

const char* process_environment(const char* name) { return std::getenv(name); }

result<command_line<worker_config>> load_worker_config(int argc, const char* const argv[],
                                                       const environment_lookup& env) {
  return config_detail::load_with_table(config_detail::worker_table(), argc, argv, env);
}

result<command_line<api_config>> load_api_config(int argc, const char* const argv[],
                                                 const environment_lookup& env) {
  return config_detail::load_with_table(config_detail::api_table(), argc, argv, env);
}

}  // namespace streamgate
