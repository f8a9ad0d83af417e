#include "api/http/query_limit.hpp"

#include <charconv>
#include <optional>
#include <string>

namespace streamgate {

result<int> query_limit(const request_context& ctx, int absent, int max) {
  const std::optional<std::string> text = ctx.query("limit");
  if (!text) return absent;
  int limit = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, limit);
  if (text->empty() || ec != std::errc() || ptr != end || limit < 1 || limit > max)
    return bad_request("query parameter 'limit' must be an integer from 1 to " +
                       std::to_string(max));
  return limit;
}

}  // namespace streamgate
