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

// A fresh random requestId for a start that named none, such as "r_Qx3-Tb9aK_0Lz" ("r_" and 78
// random bits in 13 base64url characters). Short enough for std::string to keep it inline: a
// start looks its requestId up among the user's remembered starts (up to 288), and a comparison
// with an inline id reads no memory beyond the remembered start itself (bench/HISTORY.md, session
// 25). Unique enough: among the 6 million made in a 10-minute memory window at 10,000 starts a
// second, two alike has a chance of about 10^-10.
std::string new_request_id();

}  // namespace streamgate
