#pragma once

#include <spdlog/spdlog.h>

#include "common/config.hpp"

namespace streamgate {

// The one logging facade: spdlog's default logger, text or one JSON object per line.
// Call once from main before anything logs.
void init_logging(const log_config& config, std::string_view program);

}  // namespace streamgate
