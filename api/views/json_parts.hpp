#pragma once

// The pieces api/views builds its bodies and messages from, each written once: a stream, a user,
// a verdict's fields, a playback pass, an error object. They write into the strict JSON writer of
// common/codec/strict_json.hpp.

#include <string_view>
#include <vector>

#include "api/playback/playback_pass.hpp"
#include "common/codec/strict_json.hpp"
#include "common/worker_replies.hpp"

namespace streamgate::view_parts {

using codec_detail::json_writer;

void write_stream(json_writer& w, const stream& s);
void write_streams(json_writer& w, const std::vector<stream>& streams);
// The members of a user, without the braces (a created user's body puts its token first).
void write_user_members(json_writer& w, const user_view& v);
void write_user(json_writer& w, const user_view& v);
void write_video(json_writer& w, const video& v);
void write_plan(json_writer& w, const plan& p);
void write_audit_entry(json_writer& w, const audit_entry& e);
// "playback":{"token","expiresAt"} when there is a pass.
void write_pass(json_writer& w, const playback_pass* pass);
// "stream": the allowed verdict's stream (null keeps the shape if that were ever broken).
void write_granted(json_writer& w, const verdict& v);
// "overLimit":true, only on a start the monitor policy let through over the limit.
void write_over_limit(json_writer& w, const verdict& v);
// "error":{"code","message"}, the message made valid UTF-8.
void write_error_member(json_writer& w, const error& e);

}  // namespace streamgate::view_parts
