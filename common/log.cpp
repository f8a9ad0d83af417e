#include "common/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace streamgate {

void init_logging(const log_config& config, std::string_view program) {
  auto logger = spdlog::stderr_color_mt(std::string(program));
  if (config.format == "json") {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","program":"%n","msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(config.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace streamgate
