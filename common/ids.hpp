#pragma once

#include <string>
#include <string_view>

namespace streamgate {

// Ids of users, videos, streams, sessions and requests: [A-Za-z0-9_-]{1,64}.
bool is_valid_id(std::string_view id);

// A file name in one folder (a media segment, "index.m3u8"): [A-Za-z0-9_.-]{1,128}, no leading
// '.', so it names neither a hidden file nor "..".
bool is_valid_file_name(std::string_view name);

// A fresh random id such as "s_3f9a0c1b2d4e5f60718293a4b5c6d7e8" (prefix + 128 random bits).
std::string new_id(std::string_view prefix);

}  // namespace streamgate
