#include "worker/store/stream_changes.hpp"

#include <algorithm>
#include <string_view>

namespace streamgate {

namespace {

// The lists are one commit's changes: a handful, so a search beats building a set.
bool holds(const std::vector<std::string>& ids, std::string_view id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

std::optional<stream_changes> changes_of(const std::vector<std::string>& started,
                                         const std::vector<std::string>& renewed,
                                         const std::vector<std::string>& ended,
                                         const std::vector<stream>& now) {
  stream_changes out;
  for (const std::string& id : ended)
    if (!holds(started, id)) out.ended.push_back(id);

  // The started streams still live are the newest of `now`, in the order they were made.
  std::vector<std::string_view> live_started;
  for (const std::string& id : started)
    if (!holds(ended, id)) live_started.push_back(id);
  if (live_started.size() > now.size()) return std::nullopt;
  const std::size_t first_added = now.size() - live_started.size();
  for (std::size_t j = 0; j < live_started.size(); ++j) {
    if (now[first_added + j].stream_id != live_started[j]) return std::nullopt;
    out.added.push_back(first_added + j);
  }

  // Each renewed stream that was loaded and is still live, once, in the order of `now`.
  const auto loaded_end = now.begin() + static_cast<std::ptrdiff_t>(first_added);
  for (const std::string& id : renewed) {
    if (holds(started, id) || holds(ended, id)) continue;
    const auto found =
        std::find_if(now.begin(), loaded_end, [&](const stream& s) { return s.stream_id == id; });
    if (found == loaded_end) return std::nullopt;
    out.renewed.push_back(static_cast<std::size_t>(found - now.begin()));
  }
  std::sort(out.renewed.begin(), out.renewed.end());
  out.renewed.erase(std::unique(out.renewed.begin(), out.renewed.end()), out.renewed.end());
  return out;
}

}  // namespace streamgate
