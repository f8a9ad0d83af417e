// The api <-> worker requests (common/messages.hpp) and what clients send: REST bodies and
// WebSocket messages. They share the field readers: a start body is a start request's fields.

#include <algorithm>
#include <limits>
#include <utility>
#include <variant>

#include "common/codec.hpp"
#include "common/codec/strict_json.hpp"

namespace streamgate {

using namespace codec_detail;

namespace {

struct op_spec {
  std::string_view name;
  field_set required;
  field_set optional;
};

// In the order of request_body's alternatives: an alternative's index is its op.
constexpr std::array<op_spec, std::variant_size_v<request_body>> op_specs{{
    {"start", fields(field::request_id, field::user_id, field::video_id, field::session_id),
     fields(field::request_id_made)},
    {"heartbeat", fields(field::user_id, field::stream_id), 0},
    {"stop", fields(field::user_id, field::stream_id), 0},
    {"stop_all", fields(field::user_id), 0},
    {"get_user", fields(field::user_id), 0},
    {"list_users", fields(field::name, field::limit), fields(field::after)},
    {"create_user", fields(field::name),
     fields(field::id, field::max_streams, field::policy, field::token_hash, field::plan)},
    {"patch_user", fields(field::user_id),
     fields(field::name, field::max_streams, field::policy, field::plan)},
    {"list_streams", fields(field::user_id), 0},
    {"snapshot", fields(field::user_id), 0},
    {"list_videos", 0, 0},
    {"get_video", fields(field::video_id), 0},
    {"get_request", fields(field::request_id), fields(field::user_id)},
    {"ping", 0, fields(field::clock_offset)},
    {"list_events", fields(field::user_id, field::limit), 0},
    {"authenticate", fields(field::user_id, field::token_hash), 0},
    {"stats", 0, 0},
    {"list_plans", 0, 0},
    {"rotate_token", fields(field::user_id, field::token_hash), 0},
    {"delete_user", fields(field::user_id), 0},
}};

// What a client may set on a user, in POST /api/v1/users and PATCH /api/v1/users/{id} alike.
constexpr field_set user_fields =
    fields(field::name, field::max_streams, field::policy, field::plan);

void put_user_fields(json_writer& w, const std::optional<std::string>& name,
                     const std::optional<int>& max_streams, const std::optional<policy>& p,
                     const std::optional<std::string>& plan_id) {
  if (name) put(w, "name", *name);
  if (max_streams) put_int(w, "maxStreams", *max_streams);
  if (p) put(w, "policy", to_string(*p));
  if (plan_id) put(w, "plan", *plan_id);
}

void write_fields(json_writer& w, const start_request& r) {
  put(w, "requestId", r.request_id);
  put(w, "userId", r.user_id);
  put(w, "videoId", r.video_id);
  put(w, "sessionId", r.session_id);
  if (r.request_id_made) {
    put_key(w, "requestIdMade");
    w.Bool(true);
  }
}
void write_fields(json_writer& w, const heartbeat_request& r) {
  put(w, "userId", r.user_id);
  put(w, "streamId", r.stream_id);
}
void write_fields(json_writer& w, const stop_request& r) {
  put(w, "userId", r.user_id);
  put(w, "streamId", r.stream_id);
}
void write_fields(json_writer& w, const stop_all_request& r) { put(w, "userId", r.user_id); }
void write_fields(json_writer& w, const get_user_request& r) { put(w, "userId", r.user_id); }
void write_fields(json_writer& w, const list_users_request& r) {
  put(w, "name", r.name_filter);
  if (r.after) put(w, "after", *r.after);
  put_int(w, "limit", r.limit);
}
void write_fields(json_writer& w, const create_user_request& r) {
  if (r.id) put(w, "id", *r.id);
  put(w, "name", r.name);
  put_user_fields(w, std::nullopt, r.max_streams, r.policy_override, r.plan);
  if (r.token_hash) put(w, "tokenHash", *r.token_hash);
}
void write_fields(json_writer& w, const patch_user_request& r) {
  put(w, "userId", r.user_id);
  put_user_fields(w, r.name, r.max_streams, r.policy_override, r.plan);
}
void write_fields(json_writer& w, const list_streams_request& r) { put(w, "userId", r.user_id); }
void write_fields(json_writer& w, const snapshot_request& r) { put(w, "userId", r.user_id); }
void write_fields(json_writer&, const list_videos_request&) {}
void write_fields(json_writer& w, const get_video_request& r) { put(w, "videoId", r.video_id); }
void write_fields(json_writer& w, const get_request_request& r) {
  put(w, "requestId", r.request_id);
  if (r.owner_id) put(w, "userId", *r.owner_id);
}
void write_fields(json_writer& w, const ping_request& r) {
  if (r.clock_offset_ms != 0) put_int(w, "clockOffset", r.clock_offset_ms);
}
void write_fields(json_writer& w, const list_events_request& r) {
  put(w, "userId", r.user_id);
  put_int(w, "limit", r.limit);
}
void write_fields(json_writer& w, const authenticate_request& r) {
  put(w, "userId", r.user_id);
  put(w, "tokenHash", r.token_hash);
}
void write_fields(json_writer&, const stats_request&) {}
void write_fields(json_writer&, const list_plans_request&) {}
void write_fields(json_writer& w, const rotate_token_request& r) {
  put(w, "userId", r.user_id);
  put(w, "tokenHash", r.token_hash);
}
void write_fields(json_writer& w, const delete_user_request& r) { put(w, "userId", r.user_id); }

void read_fields(field_reader& f, start_request& r) {
  r.request_id = f.id(field::request_id);
  r.user_id = f.id(field::user_id);
  r.video_id = f.id(field::video_id);
  r.session_id = f.id(field::session_id);
  r.request_id_made = f.flag(field::request_id_made);
}
void read_fields(field_reader& f, heartbeat_request& r) {
  r.user_id = f.id(field::user_id);
  r.stream_id = f.id(field::stream_id);
}
void read_fields(field_reader& f, stop_request& r) {
  r.user_id = f.id(field::user_id);
  r.stream_id = f.id(field::stream_id);
}
void read_fields(field_reader& f, stop_all_request& r) { r.user_id = f.id(field::user_id); }
void read_fields(field_reader& f, get_user_request& r) { r.user_id = f.id(field::user_id); }
void read_fields(field_reader& f, list_users_request& r) {
  r.name_filter = f.text(field::name, true);
  r.after = f.optional_id(field::after);
  r.limit = f.integer(field::limit, 1, max_users_page + 1);
}
void read_fields(field_reader& f, create_user_request& r) {
  r.id = f.optional_id(field::id);
  r.name = f.text(field::name, false);
  r.max_streams = f.optional_max_streams(field::max_streams);
  r.policy_override = f.optional_policy(field::policy);
  r.token_hash = f.optional_sha256_hex(field::token_hash);
  r.plan = f.optional_id(field::plan);
}
// A patch that changes nothing is refused on both sides of the wire: it is a client mistake.
void read_patch_fields(field_reader& f, patch_user_request& r) {
  r.name = f.optional_text(field::name);
  r.max_streams = f.optional_max_streams(field::max_streams);
  r.policy_override = f.optional_policy(field::policy);
  r.plan = f.optional_id(field::plan);
  if (!f.has(field::name) && !f.has(field::max_streams) && !f.has(field::policy) &&
      !f.has(field::plan))
    f.fail("at least one of 'name', 'maxStreams', 'policy', 'plan' is required");
}
void read_fields(field_reader& f, patch_user_request& r) {
  r.user_id = f.id(field::user_id);
  read_patch_fields(f, r);
}
void read_fields(field_reader& f, list_streams_request& r) { r.user_id = f.id(field::user_id); }
void read_fields(field_reader& f, snapshot_request& r) { r.user_id = f.id(field::user_id); }
void read_fields(field_reader&, list_videos_request&) {}
void read_fields(field_reader& f, get_video_request& r) { r.video_id = f.id(field::video_id); }
void read_fields(field_reader& f, get_request_request& r) {
  r.request_id = f.id(field::request_id);
  r.owner_id = f.optional_id(field::user_id);
}
void read_fields(field_reader& f, ping_request& r) {
  r.clock_offset_ms = f.integer(field::clock_offset, -max_clock_offset_ms, max_clock_offset_ms);
}
void read_fields(field_reader& f, list_events_request& r) {
  r.user_id = f.id(field::user_id);
  r.limit = f.integer(field::limit, 1, max_audit_limit);
}
void read_fields(field_reader& f, authenticate_request& r) {
  r.user_id = f.id(field::user_id);
  r.token_hash = f.sha256_hex(field::token_hash);
}
void read_fields(field_reader&, stats_request&) {}
void read_fields(field_reader&, list_plans_request&) {}
void read_fields(field_reader& f, rotate_token_request& r) {
  r.user_id = f.id(field::user_id);
  r.token_hash = f.sha256_hex(field::token_hash);
}
void read_fields(field_reader& f, delete_user_request& r) { r.user_id = f.id(field::user_id); }

template <class Body>
request_body read_body(field_reader& f) {
  Body body;
  read_fields(f, body);
  return body;
}

template <std::size_t... I>
constexpr auto make_body_readers(std::index_sequence<I...>) {
  return std::array<request_body (*)(field_reader&), sizeof...(I)>{
      &read_body<std::variant_alternative_t<I, request_body>>...};
}

constexpr auto body_readers =
    make_body_readers(std::make_index_sequence<std::variant_size_v<request_body>>{});

}  // namespace

// ---- api <-> worker ------------------------------------------------------------------------

std::string encode_request(const request& r) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "op", op_specs[r.body.index()].name);
    put_key(w, "corr");
    w.Uint64(r.corr);
    if (r.deadline_ms > 0) {
      put_key(w, "deadline");
      w.Uint64(static_cast<std::uint64_t>(r.deadline_ms));
    }
    std::visit([&](const auto& body) { write_fields(w, body); }, r.body);
    w.EndObject();
  });
}

result<request> decode_request(std::string_view json) {
  parsed_json parsed;
  const auto root = parsed.parse(json);
  if (!root) return root.error();
  const auto op = (*root)->FindMember("op");
  if (op == (*root)->MemberEnd()) return bad_request("missing field 'op'");
  if (!op->value.IsString()) return bad_request("field 'op' must be a string");
  const std::string_view op_name = string_of(op->value);
  const auto spec = std::find_if(op_specs.begin(), op_specs.end(),
                                 [&](const op_spec& s) { return s.name == op_name; });
  if (spec == op_specs.end()) return bad_request("unknown op " + quote(op_name));

  const field_set envelope = fields(field::op, field::corr);
  field_reader f(**root, envelope | fields(field::deadline) | spec->required | spec->optional,
                 envelope | spec->required);
  request r;
  r.corr = f.uint64(field::corr);
  const std::uint64_t deadline = f.uint64(field::deadline);
  if (deadline > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return bad_request("field 'deadline' is out of range");
  r.deadline_ms = static_cast<std::int64_t>(deadline);
  r.body = body_readers[static_cast<std::size_t>(spec - op_specs.begin())](f);
  if (f.failed()) return f.take_error();
  return r;
}

// ---- bodies from HTTP clients ------------------------------------------------------------------

namespace {

constexpr field_set start_fields = fields(field::video_id, field::session_id, field::request_id);

create_user_request read_create_user(field_reader& f) {
  create_user_request r;
  read_fields(f, r);
  return r;
}

start_body read_start_body(field_reader& f) {
  start_body body;
  body.video_id = f.id(field::video_id);
  body.session_id = f.optional_id(field::session_id);
  body.request_id = f.optional_id(field::request_id);
  return body;
}

}  // namespace

result<start_body> decode_start_body(std::string_view json) {
  return decode_object<start_body>(json, start_fields, fields(field::video_id), read_start_body);
}

result<create_user_request> decode_create_user_body(std::string_view json) {
  return decode_object<create_user_request>(json, user_fields | fields(field::id),
                                            fields(field::name), read_create_user);
}

result<patch_user_request> decode_patch_user_body(std::string_view json, std::string user_id) {
  if (!is_valid_id(user_id))
    return bad_request("user id " + quote(user_id) + " must match [A-Za-z0-9_-]{1,64}");
  return decode_object<patch_user_request>(json, user_fields, 0, [&](field_reader& f) {
    patch_user_request r;
    r.user_id = std::move(user_id);
    read_patch_fields(f, r);
    return r;
  });
}

// ---- WebSocket client -> server -----------------------------------------------------------------

result<ws_client_message> decode_ws_client_message(std::string_view json) {
  parsed_json parsed;
  const auto root = parsed.parse(json);
  if (!root) return root.error();
  const auto type = (*root)->FindMember("type");
  if (type == (*root)->MemberEnd()) return bad_request("missing field 'type'");
  if (!type->value.IsString()) return bad_request("field 'type' must be a string");
  const std::string_view name = string_of(type->value);

  const field_set envelope = fields(field::type);
  if (name == "start") {
    field_reader f(**root, envelope | start_fields, envelope | fields(field::video_id));
    ws_start message{read_start_body(f)};
    if (f.failed()) return f.take_error();
    return ws_client_message{std::move(message)};
  }
  if (name == "heartbeat" || name == "stop") {
    field_reader f(**root, envelope | fields(field::stream_id),
                   envelope | fields(field::stream_id));
    std::string stream_id = f.id(field::stream_id);
    if (f.failed()) return f.take_error();
    if (name == "stop") return ws_client_message{ws_stop{std::move(stream_id)}};
    return ws_client_message{ws_heartbeat{std::move(stream_id)}};
  }
  return bad_request("unknown type " + quote(name));
}

}  // namespace streamgate
