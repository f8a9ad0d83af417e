#pragma once

// Rows that both programs' tables hold alike.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/option_factory.hpp"

namespace streamgate::config_detail {

template <class Config>
void add_log_options(const option_factory<Config>& make, std::vector<option<Config>>& rows) {
  rows.push_back(make.choice(
      "log-level", "LEVEL", "trace, debug, info, warn, error or off",
      [](Config& c) -> std::string& { return c.log.level; },
      {"trace", "debug", "info", "warn", "error", "off"},
      "one of trace, debug, info, warn, error, off"));
  rows.push_back(make.choice(
      "log-format", "FORMAT", "text, or json for one object per line",
      [](Config& c) -> std::string& { return c.log.format; }, {"text", "json"}, "text or json"));
}

// Sets `key` to the CURVE key in the file the option names; a bad file is refused naming the
// option, never quoting the content (common/link_keys.hpp).
void read_key_from_file(option_reader& options, std::string_view name, std::string& key);

// CURVE keys of the worker link (docs/design.md §6) are read from files: a secret in a flag or
// the environment would show in `ps` or `/proc`.
template <class Config, class Field>
option<Config> key_file_option(const option_factory<Config>& make, std::string name,
                               std::string help, Field field) {
  return make.custom(name, "FILE", std::move(help), "none",
                     [name, field](option_reader& options, Config& c) {
                       read_key_from_file(options, name, std::invoke(field, c));
                     });
}

}  // namespace streamgate::config_detail
