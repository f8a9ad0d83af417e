#include "api/views/json_parts.hpp"

#include <string>

namespace streamgate::view_parts {

using namespace codec_detail;

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

void write_user_members(json_writer& w, const user_view& v) {
  put(w, "id", v.u.id);
  put(w, "name", v.u.name);
  put_int(w, "maxStreams", v.limit);
  put(w, "policy", to_string(v.effective_policy));
  if (v.u.plan) put(w, "plan", *v.u.plan);
  put_int(w, "activeStreams", v.active);
}

void write_user(json_writer& w, const user_view& v) {
  w.StartObject();
  write_user_members(w, v);
  w.EndObject();
}

void write_video(json_writer& w, const video& v) {
  w.StartObject();
  put(w, "id", v.id);
  put(w, "title", v.title);
  put_int(w, "durationSeconds", v.duration_seconds);
  w.EndObject();
}

void write_plan(json_writer& w, const plan& p) {
  w.StartObject();
  put(w, "id", p.id);
  put_int(w, "maxStreams", p.max_streams);
  put(w, "policy", to_string(p.limit_policy));
  w.EndObject();
}

void write_audit_entry(json_writer& w, const audit_entry& e) {
  w.StartObject();
  put_time(w, "at", e.at_ms);
  put(w, "type", e.type);
  if (!e.stream_id.empty()) put(w, "streamId", e.stream_id);
  if (!e.request_id.empty()) put(w, "requestId", e.request_id);
  if (!e.video_id.empty()) put(w, "videoId", e.video_id);
  if (!e.reason.empty()) put(w, "reason", e.reason);
  w.EndObject();
}

void write_pass(json_writer& w, const playback_pass* pass) {
  if (!pass) return;
  put_key(w, "playback");
  w.StartObject();
  put(w, "token", pass->token);
  put_time(w, "expiresAt", pass->expires_at_ms);
  w.EndObject();
}

void write_granted(json_writer& w, const verdict& v) {
  put_key(w, "stream");
  if (v.granted)
    write_stream(w, *v.granted);
  else
    w.Null();
}

void write_over_limit(json_writer& w, const verdict& v) {
  if (!v.allowed || !v.over_limit) return;
  put_key(w, "overLimit");
  w.Bool(true);
}

void write_error_member(json_writer& w, const error& e) {
  std::string_view message = e.message;
  std::string clean;
  if (!is_valid_utf8(message)) {
    clean = sanitized(message, message.size());
    message = clean;
  }
  put_key(w, "error");
  w.StartObject();
  put(w, "code", to_string(e.code));
  put(w, "message", message);
  w.EndObject();
}

}  // namespace streamgate::view_parts
