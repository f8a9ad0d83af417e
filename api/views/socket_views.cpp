// The WebSocket messages of docs/design.md §4, from the worker's typed events and replies
// (api/views/views.hpp).

#include <type_traits>
#include <variant>

#include "api/views/json_parts.hpp"
#include "api/views/views.hpp"

namespace streamgate {

using namespace codec_detail;
using namespace view_parts;

namespace {

// The verdict event also carries "stream" when allowed and "streams" when denied, so a page can
// show what is in use without another request.
void write_verdict_event(json_writer& w, const verdict& v) {
  put(w, "type", "verdict");
  put(w, "requestId", v.request_id);
  put(w, "userId", v.user_id);
  put(w, "videoId", v.video_id);
  put(w, "sessionId", v.session_id);
  put(w, "verdict", v.allowed ? "allowed" : "denied");
  if (v.allowed) {
    put_key(w, "streamId");
    if (v.granted)
      put_string(w, v.granted->stream_id);
    else
      w.Null();
  }
  put_int(w, "active", v.active);
  put_int(w, "limit", v.limit);
  write_over_limit(w, v);
  if (v.allowed) {
    write_granted(w, v);
  } else {
    put(w, "reason", v.reason);
    put_key(w, "streams");
    write_streams(w, v.streams);
  }
}

}  // namespace

std::string render_event(const event_body& event, std::uint64_t seq, const playback_pass* pass) {
  return render([&](json_writer& w) {
    w.StartObject();
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, verdict>) {
            write_pass(w, pass);
            write_verdict_event(w, e);
          } else if constexpr (std::is_same_v<T, ended_event>) {
            put(w, "type", "ended");
            put(w, "streamId", e.stream_id);
            put(w, "userId", e.user_id);
            put(w, "reason", to_string(e.reason));
          } else {
            put(w, "type", "revoked");
            put(w, "userId", e.user_id);
          }
        },
        event);
    put_key(w, "seq");
    w.Uint64(seq);
    w.EndObject();
  });
}

std::string render_snapshot(const user_snapshot& s) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "type", "snapshot");
    put(w, "userId", s.user_id);
    put_key(w, "streams");
    write_streams(w, s.streams);
    put_int(w, "limit", s.limit);
    put(w, "epoch", s.epoch);
    put_key(w, "seq");
    w.Uint64(s.seq);
    w.EndObject();
  });
}

std::string render_socket_heartbeat(std::string_view stream_id, const lease& l,
                                    const playback_pass* pass) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "type", "heartbeat");
    put(w, "streamId", stream_id);
    write_pass(w, pass);
    put_time(w, "expiresAt", l.expires_at_ms);
    w.EndObject();
  });
}

std::string render_socket_error(const error& e, std::string_view key, std::string_view value) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "type", "error");
    if (!key.empty()) put(w, key, value);
    write_error_member(w, e);
    w.EndObject();
  });
}

}  // namespace streamgate
