#include "worker/audit_trail.hpp"

#include <string>
#include <variant>

namespace streamgate {

std::vector<audit_entry> audit_entries_of(const std::vector<change>& changes,
                                          const std::vector<event>& events, std::int64_t at_ms) {
  std::vector<audit_entry> entries;
  for (const change& c : changes) {
    const auto* saved = std::get_if<verdict_saved>(&c);
    if (saved == nullptr) continue;
    const verdict& v = *saved->v;
    audit_entry& e = entries.emplace_back();
    e.user_id = v.user_id;
    e.at_ms = v.decided_at_ms;
    e.type = v.allowed ? "allowed" : "denied";
    if (v.granted) e.stream_id = v.granted->stream_id;
    e.request_id = v.request_id;
    e.video_id = v.video_id;
    e.reason = v.reason;
  }
  for (const event& ev : events) {
    const auto* ended = std::get_if<ended_event>(&ev.what);
    if (ended == nullptr) continue;
    audit_entry& e = entries.emplace_back();
    e.user_id = ended->user_id;
    e.at_ms = at_ms;
    e.type = std::string(to_string(ended->reason));
    e.stream_id = ended->stream_id;
  }
  return entries;
}

}  // namespace streamgate
