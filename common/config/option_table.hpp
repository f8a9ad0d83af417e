#pragma once

// The generic half of the option tables. Each program declares every option once, in one table
// (common/config/api_options.cpp, worker_options.cpp): its name, environment variable, help, the
// default and range shown in --help, and how its value is checked and set. --help, the command
// line, the environment, the config file and the messages about bad values all come from that
// table; nothing here knows a single option.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"

namespace streamgate::config_detail {

enum class option_kind {
  single,    // one value; given twice on the command line is an error
  repeated,  // given again and again, kept in order: comma-separated in the environment, an array
             // in the config file
  toggle,    // "--name" alone means true; "true" or "false" in the environment or the file
};

// An option as the sources see it: text only, so that the command line, the environment and the
// config file are read without knowing the typed config.
struct option_spec {
  std::string name;          // the flag without "--", also the key in the config file
  std::string environment;   // the variable, environment_name(name)
  std::string value_name;    // --help shows "--name VALUE_NAME"
  std::string help;          // what it does, without range or default
  std::string range;         // shown in --help after the help ("1-86400"); empty: none
  std::string default_text;  // shown in --help as "[default: ...]"
  option_kind kind = option_kind::single;
};

// STREAMGATE_ and the flag in capitals, '-' as '_': lease-seconds is STREAMGATE_LEASE_SECONDS.
std::string environment_name(std::string_view flag);

// The three sources merged, each option's value taken from the highest that gives it: flags,
// then the environment, then the config file.
struct option_sources {
  // The values in force; a single or toggle option holds exactly one.
  std::map<std::string, std::vector<std::string>, std::less<>> values;
  std::set<std::string, std::less<>> from_flags;
  std::set<std::string, std::less<>> from_environment;
  std::string config_file;
  std::set<std::string, std::less<>> quoted_in_file;  // keys whose value the file quotes: "90"
};

// What a command line asks for: options to read, or help to print (then nothing else is read).
struct parsed_options {
  option_sources sources;
  std::optional<std::string> help_text;
};

// Reads the flags, the environment (asked only for the variables of `specs` and
// STREAMGATE_CONFIG) and the config file; refuses unknown flags and keys and stray words.
// common/config/command_line.cpp; the file itself is read by common/config/config_file.cpp.
result<parsed_options> parse_options(std::string_view program,
                                     const std::vector<option_spec>& specs, int argc,
                                     const char* const argv[], const environment_lookup& env);

// Typed reads of the merged options. The first bad value is kept and later reads change nothing,
// so a table is read in a straight line and failed() checked once.
class option_reader final {
 public:
  explicit option_reader(const option_sources& sources) : sources_(sources) {}

  bool failed() const { return failure_.has_value(); }
  error take_error() { return std::move(*failure_); }
  void fail(std::string message);

  // Whether any source gives the option (false once a read failed).
  bool given(std::string_view name) const;
  // Null when the option is given nowhere, or once a read failed.
  const std::string* value(std::string_view name) const;
  const std::vector<std::string>* values(std::string_view name) const;

  void integer(std::string_view name, int min, int max, int& target);
  void one_of(std::string_view name, const std::vector<std::string_view>& choices,
              std::string_view expectation, std::string& target);
  void checked(std::string_view name, bool (*valid)(std::string_view), std::string_view expectation,
               std::string& target);

  // "bad value 'TEXT' for SOURCE: expected EXPECTATION".
  void bad_value(std::string_view name, std::string_view text, std::string_view expectation);
  // Where the value in force came from, as the user would write it: --name, STREAMGATE_NAME or
  // 'name' in config file 'PATH'.
  std::string source_of(std::string_view name) const;

 private:
  // The value in force is the config file's, and a JSON string there.
  bool quoted_in_file(std::string_view name) const;

  const option_sources& sources_;
  std::optional<error> failure_;
};

template <class Config>
using option_read = std::function<void(option_reader&, Config&)>;

// One row of a table: the option and how its value is checked and set.
template <class Config>
struct option : option_spec {
  // Called only when the option is given somewhere, in table order. Null: one of the table's
  // checks reads it together with others.
  option_read<Config> read;
};

template <class Config>
struct option_table {
  std::string program;  // as --help's usage line names it
  std::vector<option<Config>> options;
  // Rules that tie options together, run in order once every option was read without error.
  std::vector<option_read<Config>> checks;
};

// The two programs' tables (common/config/api_options.cpp, worker_options.cpp).
option_table<api_config> api_table();
option_table<worker_config> worker_table();

}  // namespace streamgate::config_detail
