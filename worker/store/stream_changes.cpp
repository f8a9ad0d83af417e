#include "worker/store/stream_changes.hpp"

namespace streamgate {

stream_leases::stream_leases(const std::vector<stream>& streams) {
  std::size_t bytes = 0;
  for (const stream& s : streams) bytes += s.stream_id.size();
  ids_.reserve(bytes);
  entries_.reserve(streams.size());
  for (const stream& s : streams) add(s.stream_id, s.expires_at_ms);
}

stream_leases::stream_leases(
    std::initializer_list<std::pair<std::string_view, std::int64_t>> leases) {
  for (const auto& [id, expires_at_ms] : leases) add(id, expires_at_ms);
}

void stream_leases::add(std::string_view id, std::int64_t expires_at_ms) {
  ids_ += id;
  entries_.push_back({ids_.size(), expires_at_ms});
}

std::string_view stream_leases::id(std::size_t i) const {
  const std::size_t begin = i == 0 ? 0 : entries_[i - 1].id_end;
  return std::string_view(ids_).substr(begin, entries_[i].id_end - begin);
}

stream_changes changes_between(const stream_leases& loaded, const std::vector<stream>& now) {
  // Both in the order the streams were made: a loaded stream is either at the head of what is
  // left of `now` (kept) or gone (ended); what follows the last kept one is new.
  stream_changes out;
  std::size_t next = 0;  // the first stream of `now` not matched yet
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    const std::string_view id = loaded.id(i);
    if (next < now.size() && now[next].stream_id == id) {
      if (now[next].expires_at_ms != loaded.expires_at_ms(i)) out.renewed.push_back(next);
      ++next;
    } else {
      out.ended.emplace_back(id);
    }
  }
  for (; next < now.size(); ++next) out.added.push_back(next);
  return out;
}

}  // namespace streamgate
