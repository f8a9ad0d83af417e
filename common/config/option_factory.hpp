#pragma once

// Makes the rows of an option table (option_table.hpp) for the common shapes of option, so that
// a row names its range and choices once: the same numbers check the value, word the message and
// show in --help, and the default shown is the one a default-constructed Config holds.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config/option_table.hpp"

namespace streamgate::config_detail {

template <class Config>
class option_factory final {
 public:
  // A field is anything std::invoke turns into a reference into the Config: a pointer to a data
  // member, or a lambda for a nested one ([](Config& c) -> std::string& { return c.log.level; }).

  // An integer from min to max; `range_note` follows the range in --help (", 0 is no limit").
  template <class Field>
  option<Config> integer(std::string name, std::string value_name, std::string help, int min,
                         int max, Field field, std::string_view range_note = {}) const {
    option<Config> row = spec(std::move(name), std::move(value_name), std::move(help),
                              std::to_string(default_of(field)));
    row.range = std::to_string(min) + "-" + std::to_string(max) + std::string(range_note);
    row.read = [name = row.name, min, max, field](option_reader& options, Config& c) {
      options.integer(name, min, max, std::invoke(field, c));
    };
    return row;
  }

  // Text that `valid` accepts; else refused as "expected EXPECTATION".
  template <class Field>
  option<Config> text(std::string name, std::string value_name, std::string help, Field field,
                      bool (*valid)(std::string_view), std::string expectation) const {
    option<Config> row =
        spec(std::move(name), std::move(value_name), std::move(help), default_of(field));
    row.read = [name = row.name, valid, expectation = std::move(expectation), field](
                   option_reader& options, Config& c) {
      options.checked(name, valid, expectation, std::invoke(field, c));
    };
    return row;
  }

  // One of `choices`, kept as written.
  template <class Field>
  option<Config> choice(std::string name, std::string value_name, std::string help, Field field,
                        std::vector<std::string_view> choices, std::string expectation) const {
    option<Config> row =
        spec(std::move(name), std::move(value_name), std::move(help), default_of(field));
    row.read = [name = row.name, choices = std::move(choices), expectation = std::move(expectation),
                field](option_reader& options, Config& c) {
      options.one_of(name, choices, expectation, std::invoke(field, c));
    };
    return row;
  }

  // A bool: "--name" alone, or true/false.
  template <class Field>
  option<Config> toggle(std::string name, std::string help, Field field) const {
    option<Config> row = spec(std::move(name), "true|false", std::move(help),
                              default_of(field) ? "true" : "false", option_kind::toggle);
    row.read = [name = row.name, field](option_reader& options, Config& c) {
      bool& target = std::invoke(field, c);
      std::string text = target ? "true" : "false";
      options.one_of(name, {"true", "false"}, "true or false", text);
      target = text == "true";
    };
    return row;
  }

  // Any other option: `read` does what the shapes above cannot (or nothing, for an option a
  // check reads).
  option<Config> custom(std::string name, std::string value_name, std::string help,
                        std::string default_text, option_read<Config> read,
                        option_kind kind = option_kind::single) const {
    option<Config> row = spec(std::move(name), std::move(value_name), std::move(help),
                              std::move(default_text), kind);
    row.read = std::move(read);
    return row;
  }

 private:
  // The field's value in a default-constructed Config, shown in --help as the default.
  template <class Field>
  static auto default_of(Field field) {
    Config config;
    return std::invoke(field, config);
  }

  static option<Config> spec(std::string name, std::string value_name, std::string help,
                             std::string default_text, option_kind kind = option_kind::single) {
    option<Config> row;
    row.environment = environment_name(name);
    row.name = std::move(name);
    row.value_name = std::move(value_name);
    row.help = std::move(help);
    row.default_text = std::move(default_text);
    row.kind = kind;
    return row;
  }
};

}  // namespace streamgate::config_detail
