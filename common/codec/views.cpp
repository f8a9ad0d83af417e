// What clients read, rendered once where it is decided: REST bodies, WebSocket events, errors.

#include "common/codec.hpp"
#include "common/codec/strict_json.hpp"

#include <utility>

namespace streamgate {

using namespace codec_detail;

namespace {

void write_stream(json_writer& w, const stream& s) {
  w.StartObject();
  put(w, "streamId", s.stream_id);
  put(w, "userId", s.user_id);
  put(w, "videoId", s.video_id);
  put(w, "sessionId", s.session_id);
  put_time(w, "startedAt", s.started_at_ms);
  put_time(w, "expiresAt", s.expires_at_ms);
  w.EndObject();
}

void write_streams(json_writer& w, const std::vector<stream>& streams) {
  w.StartArray();
  for (const stream& s : streams) write_stream(w, s);
  w.EndArray();
}

// An allowed verdict always carries its stream; null keeps the shape if that were ever broken.
void write_granted(json_writer& w, const verdict& v) {
  put_key(w, "stream");
  if (v.granted)
    write_stream(w, *v.granted);
  else
    w.Null();
}

void write_user(json_writer& w, const user& u, int limit, policy effective_policy, int active) {
  w.StartObject();
  put(w, "id", u.id);
  put(w, "name", u.name);
  put_int(w, "maxStreams", limit);
  put(w, "policy", to_string(effective_policy));
  if (u.plan) put(w, "plan", *u.plan);
  put_int(w, "activeStreams", active);
  w.EndObject();
}

void write_plan(json_writer& w, const plan& p) {
  w.StartObject();
  put(w, "id", p.id);
  put_int(w, "maxStreams", p.max_streams);
  put(w, "policy", to_string(p.limit_policy));
  w.EndObject();
}

// Only a start the monitor policy let through over the limit says so; the rest keep their shape.
void write_over_limit(json_writer& w, const verdict& v) {
  if (!v.allowed || !v.over_limit) return;
  put_key(w, "overLimit");
  w.Bool(true);
}

void write_video(json_writer& w, const video& v) {
  w.StartObject();
  put(w, "id", v.id);
  put(w, "title", v.title);
  put_int(w, "durationSeconds", v.duration_seconds);
  w.EndObject();
}

}  // namespace

// ---- bodies and events rendered by the worker ----------------------------------------------

std::string encode_user(const user& u, int limit, policy effective_policy, int active) {
  return render([&](json_writer& w) { write_user(w, u, limit, effective_policy, active); });
}

std::string encode_users(const std::vector<user_row>& rows) {
  return render([&](json_writer& w) {
    w.StartArray();
    for (const user_row& row : rows)
      write_user(w, *row.u, row.limit, row.effective_policy, row.active);
    w.EndArray();
  });
}

std::string encode_stream(const stream& s) {
  return render([&](json_writer& w) { write_stream(w, s); });
}

std::string encode_streams(const std::vector<stream>& streams) {
  return render([&](json_writer& w) { write_streams(w, streams); });
}

std::string encode_video(const video& v) {
  return render([&](json_writer& w) { write_video(w, v); });
}

std::string encode_videos(const std::vector<const video*>& videos) {
  return render([&](json_writer& w) {
    w.StartArray();
    for (const video* v : videos) write_video(w, *v);
    w.EndArray();
  });
}

std::string encode_plans(const std::vector<plan>& plans) {
  return render([&](json_writer& w) {
    w.StartArray();
    for (const plan& p : plans) write_plan(w, p);
    w.EndArray();
  });
}

std::string encode_verdict_body(const verdict& v) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "requestId", v.request_id);
    if (v.allowed) {
      put(w, "verdict", "allowed");
      write_granted(w, v);
      put_int(w, "active", v.active);
      put_int(w, "limit", v.limit);
      write_over_limit(w, v);
    } else {
      put(w, "verdict", "denied");
      put(w, "reason", v.reason);
      put_int(w, "active", v.active);
      put_int(w, "limit", v.limit);
      put_key(w, "streams");
      write_streams(w, v.streams);
    }
    w.EndObject();
  });
}

std::string encode_pending_body(std::string_view request_id) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "requestId", request_id);
    put(w, "status", "pending");
    w.EndObject();
  });
}

std::string encode_heartbeat_body(std::int64_t expires_at_ms) {
  return render([&](json_writer& w) {
    w.StartObject();
    put_time(w, "expiresAt", expires_at_ms);
    w.EndObject();
  });
}

std::string encode_verdict_event(const verdict& v, std::uint64_t seq) {
  return render([&](json_writer& w) {
    w.StartObject();
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
    put_key(w, "seq");
    w.Uint64(seq);
    w.EndObject();
  });
}

std::string encode_audit_events(const std::vector<audit_entry>& entries) {
  return render([&](json_writer& w) {
    w.StartArray();
    for (const audit_entry& e : entries) {
      w.StartObject();
      put_time(w, "at", e.at_ms);
      put(w, "type", e.type);
      if (!e.stream_id.empty()) put(w, "streamId", e.stream_id);
      if (!e.request_id.empty()) put(w, "requestId", e.request_id);
      if (!e.video_id.empty()) put(w, "videoId", e.video_id);
      if (!e.reason.empty()) put(w, "reason", e.reason);
      w.EndObject();
    }
    w.EndArray();
  });
}

std::string encode_ended_event(const ended_event& e, std::uint64_t seq) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "type", "ended");
    put(w, "streamId", e.stream_id);
    put(w, "userId", e.user_id);
    put(w, "reason", to_string(e.reason));
    put_key(w, "seq");
    w.Uint64(seq);
    w.EndObject();
  });
}

std::string encode_revoked_event(const access_revoked& e, std::uint64_t seq) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "type", "revoked");
    put(w, "userId", e.user_id);
    put_key(w, "seq");
    w.Uint64(seq);
    w.EndObject();
  });
}

std::string encode_snapshot(std::string_view user_id, const std::vector<stream>& streams,
                            int limit, std::string_view epoch, std::uint64_t seq) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "type", "snapshot");
    put(w, "userId", user_id);
    put_key(w, "streams");
    write_streams(w, streams);
    put_int(w, "limit", limit);
    put(w, "epoch", epoch);
    put_key(w, "seq");
    w.Uint64(seq);
    w.EndObject();
  });
}

std::string encode_error(const error& e) { return encode_error(e.code, e.message); }

std::string encode_error(error_code code, std::string_view message) {
  // Messages may quote what a client sent; the JSON must stay valid UTF-8 even so.
  std::string clean;
  if (!is_valid_utf8(message)) {
    clean = sanitized(message, message.size());
    message = clean;
  }
  return render([&](json_writer& w) {
    w.StartObject();
    put_key(w, "error");
    w.StartObject();
    put(w, "code", to_string(code));
    put(w, "message", message);
    w.EndObject();
    w.EndObject();
  });
}

}  // namespace streamgate
