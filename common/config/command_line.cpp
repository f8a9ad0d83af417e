// The sources of an option table's values: flags (Boost.Program_options, which also lays out
// --help), the environment and the config file, merged by precedence.

#include <boost/program_options.hpp>
#include <sstream>

#include "common/config/config_file.hpp"
#include "common/config/option_table.hpp"

namespace streamgate::config_detail {

namespace po = boost::program_options;

std::string environment_name(std::string_view flag) {
  std::string name = "STREAMGATE_";
  for (const char c : flag) {
    if (c == '-')
      name += '_';
    else if (c >= 'a' && c <= 'z')
      name += static_cast<char>(c - 'a' + 'A');
    else
      name += c;
  }
  return name;
}

namespace {

constexpr const char* config_option = "config";

// One line of --help: what it does, its range, default and variable.
std::string help_line(const option_spec& spec) {
  return spec.help + (spec.range.empty() ? "" : " (" + spec.range + ")") +
         " [default: " + spec.default_text + "] (env " + spec.environment +
         (spec.kind == option_kind::repeated ? ", comma-separated)" : ")");
}

po::options_description describe(const std::vector<option_spec>& specs) {
  po::options_description description("Options", 100, 50);
  description.add_options()("help,h", "print this help and exit")(
      config_option, po::value<std::string>()->value_name("FILE"),
      "JSON file of options; its keys are the flag names (env STREAMGATE_CONFIG)");
  for (const option_spec& spec : specs) {
    const std::string help = help_line(spec);
    switch (spec.kind) {
      case option_kind::toggle:
        description.add_options()(
            spec.name.c_str(),
            po::value<std::string>()->implicit_value("true")->value_name(spec.value_name),
            help.c_str());
        break;
      case option_kind::repeated:
        description.add_options()(
            spec.name.c_str(), po::value<std::vector<std::string>>()->value_name(spec.value_name),
            help.c_str());
        break;
      case option_kind::single:
        description.add_options()(
            spec.name.c_str(), po::value<std::string>()->value_name(spec.value_name), help.c_str());
        break;
    }
  }
  return description;
}

std::string help_text(std::string_view program, const po::options_description& description) {
  std::ostringstream text;
  text << "Usage: " << program << " [options]\n\n"
       << description << "\n"
       << "Every option can also be given in the environment (the variable shown) or in the\n"
          "--config file under its flag name. Flags override the environment, which overrides\n"
          "the file.\n";
  return text.str();
}

// The flags alone, stored by Program_options, which refuses an unknown flag or a single one
// given twice.
result<po::variables_map> parse_flags(const po::options_description& description, int argc,
                                      const char* const argv[]) {
  po::variables_map flags;
  try {
    // Guessing would let "--lease" mean "--lease-seconds"; a typo must be refused instead.
    const po::parsed_options parsed =
        po::command_line_parser(argc, argv)
            .options(description)
            .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
            .run();
    for (const po::option& option : parsed.options) {
      // Without a positional description Program_options passes stray words through unnamed.
      if (option.string_key.empty())
        return bad_request(
            "unexpected argument '" +
            (option.original_tokens.empty() ? std::string() : option.original_tokens.front()) +
            "'");
    }
    po::store(parsed, flags);
  } catch (const po::unknown_option& e) {
    return bad_request("unknown flag '" + e.get_option_name() + "'");
  } catch (const po::error& e) {
    return bad_request(e.what());
  }
  return flags;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  for (std::size_t start = 0;;) {
    const std::size_t comma = text.find(',', start);
    items.emplace_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) return items;
    start = comma + 1;
  }
}

// A variable's value, null when unset. An empty variable counts as unset: `FOO= program` is how
// shells and compose files unset.
const char* variable(const environment_lookup& env, const std::string& name) {
  const char* value = env(name.c_str());
  return value == nullptr || *value == '\0' ? nullptr : value;
}

}  // namespace

result<parsed_options> parse_options(std::string_view program,
                                     const std::vector<option_spec>& specs, int argc,
                                     const char* const argv[], const environment_lookup& env) {
  const po::options_description description = describe(specs);
  const auto flags = parse_flags(description, argc, argv);
  if (!flags) return flags.error();
  parsed_options parsed;
  if (flags->count("help") != 0) {
    parsed.help_text = help_text(program, description);
    return parsed;
  }

  // From the highest precedence down, each source fills only what is still missing.
  option_sources& sources = parsed.sources;
  for (const option_spec& spec : specs) {
    const auto found = flags->find(spec.name);
    if (found == flags->end()) continue;
    sources.values[spec.name] = spec.kind == option_kind::repeated
                                    ? found->second.as<std::vector<std::string>>()
                                    : std::vector{found->second.as<std::string>()};
    sources.from_flags.insert(spec.name);
  }

  const char* config_variable = variable(env, environment_name(config_option));
  for (const option_spec& spec : specs) {
    const char* value = variable(env, spec.environment);
    if (value == nullptr || sources.values.count(spec.name) != 0) continue;
    sources.values[spec.name] =
        spec.kind == option_kind::repeated ? split_list(value) : std::vector<std::string>{value};
    sources.from_environment.insert(spec.name);
  }

  if (flags->count(config_option) != 0)
    sources.config_file = (*flags)[config_option].as<std::string>();
  else if (config_variable != nullptr)
    sources.config_file = config_variable;
  else
    return parsed;
  auto file = read_config_file(specs, sources.config_file);
  if (!file) return file.error();
  for (auto& [name, values] : file->values) sources.values.try_emplace(name, std::move(values));
  sources.quoted_in_file = std::move(file->quoted);
  return parsed;
}

}  // namespace streamgate::config_detail
