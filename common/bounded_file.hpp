#pragma once

// Reads a whole file named by an operator (a config file, a catalog) with a cap on its size, so
// a wrong path (/dev/zero, a directory, a huge log) is a clear error at start-up, not an
// exception out of a stream or memory read without end.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace streamgate {

// The content of `path`, or bad_request naming `what` and the path: it cannot be opened, is a
// directory, cannot be read, or holds more than `max_bytes`. Reads at most max_bytes + 1 bytes,
// so a device or pipe that never ends costs no more.
result<std::string> read_bounded_file(const std::filesystem::path& path, std::size_t max_bytes,
                                      std::string_view what);

}  // namespace streamgate
