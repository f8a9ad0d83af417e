#pragma once

// HLS playlists served with a token (docs/design.md §9): every URI in the playlist gets the
// request's token, so segments are fetched with it by any player, unchanged.

#include <string>
#include <string_view>

namespace streamgate {

// `token` must need no escaping in a query (playback tokens do not). URI lines and the URI="..."
// attributes of tags (EXT-X-MAP, EXT-X-KEY, ...) get "?token=T", or "&token=T" when they have a
// query already. Line endings are kept.
std::string with_token(std::string_view playlist, std::string_view token);

}  // namespace streamgate
