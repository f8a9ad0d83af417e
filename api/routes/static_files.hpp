#pragma once

// The web UI's files under web_root. Pure helpers, so the path rules are unit-tested.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace streamgate {

// The file a request path names under `root`, or nullopt when it is not a regular file there.
// `encoded_path` is still percent-encoded; "/" and paths ending in '/' name index.html.
// Refuses "..", backslashes, NUL and anything that resolves (through symlinks too) outside root.
std::optional<std::filesystem::path> resolve_static_path(const std::filesystem::path& root,
                                                         std::string_view encoded_path);

std::string_view content_type_of(const std::filesystem::path& file);

// A whole file of at most 16 MiB (the UI's files, a media segment); nullopt otherwise.
std::optional<std::string> read_small_file(const std::filesystem::path& file);

}  // namespace streamgate
