#include "worker/store/stream_changes.hpp"

namespace streamgate {

stream_leases leases_of(const std::vector<stream>& streams) {
  stream_leases out;
  out.reserve(streams.size());
  for (const stream& s : streams) out.emplace_back(s.stream_id, s.expires_at_ms);
  return out;
}

stream_changes changes_between(const stream_leases& loaded, const std::vector<stream>& now) {
  // Both in the order the streams were made: a loaded stream is either at the head of what is
  // left of `now` (kept) or gone (ended); what follows the last kept one is new.
  stream_changes out;
  std::size_t next = 0;  // the first stream of `now` not matched yet
  for (const auto& [id, expires_at_ms] : loaded) {
    if (next < now.size() && now[next].stream_id == id) {
      if (now[next].expires_at_ms != expires_at_ms) out.renewed.push_back(next);
      ++next;
    } else {
      out.ended.push_back(id);
    }
  }
  for (; next < now.size(); ++next) out.added.push_back(next);
  return out;
}

}  // namespace streamgate
