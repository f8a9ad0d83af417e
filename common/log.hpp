#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

#include "common/config.hpp"

namespace streamgate {

// The one logging facade: spdlog's default logger, text or one JSON object per line.
// Call once from main before anything logs.
void init_logging(const log_config& config, std::string_view program);

// The formatter of `format` ("text" or "json"); in json the message is escaped, so every line
// is one valid JSON object. Apart from init_logging for tests.
std::unique_ptr<spdlog::formatter> make_log_formatter(std::string_view format);

}  // namespace streamgate
