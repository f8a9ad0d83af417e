#pragma once

// Every body and message a client reads, rendered from the worker's typed replies and events
// (common/worker_replies.hpp) in this one place (docs/design.md §10): the REST bodies of
// docs/design.md §3 and the WebSocket messages of §4. The worker knows no client JSON, and no
// body is patched after it is rendered: what a route adds (a playback token, a requestId, a new
// user's token) is rendered with it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/playback/playback_pass.hpp"
#include "common/error.hpp"
#include "common/worker_replies.hpp"

namespace streamgate {

// ---- REST bodies ----------------------------------------------------------------------------
// A reply's body as a route sends it. `pass`, when given, is rendered first as
// "playback":{"token","expiresAt"} in a verdict or a heartbeat's lease. std::monostate is {}.
//   user_view:  {"id","name","maxStreams":<effective limit>,"policy":<effective>,"plan"?,
//               "activeStreams"}; "plan", the plan's id, only when the user has one
//   stream:     {"streamId","userId","videoId","sessionId","startedAt","expiresAt"} (ISO 8601)
//   verdict:    allowed {"requestId","verdict":"allowed","stream","active","limit","overLimit"?}
//               denied  {"requestId","verdict":"denied","reason","active","limit","streams"}
//               "overLimit":true only on a start the monitor policy allowed over the limit
//   lease:      {"expiresAt"}
//   video:      {"id","title","durationSeconds"};  plan: {"id","maxStreams","policy"}
//   audit_entry: {"at","type","streamId"?,"requestId"?,"videoId"?,"reason"?}
//   user_snapshot: the WebSocket snapshot message; worker_stats: see render_worker_stats
std::string render_body(const reply_body& body, const playback_pass* pass = nullptr);

// {"error":{"code","message"}}, the message made valid UTF-8 (it may quote what a client sent).
std::string render_error(const error& e);
std::string render_error(error_code code, std::string_view message);
// {"requestId","error":{...}}: every answer to a start names its requestId, so the client can
// retry without a second slot.
std::string render_start_error(const error& e, std::string_view request_id);
// {"requestId","status":"pending"}
std::string render_pending(std::string_view request_id);
// {"token",<the user's fields>}: the only body that ever holds a user's token.
std::string render_user_with_token(const user_view& v, std::string_view token);
// The first `count` users of `users`, as an array (GET /api/v1/users).
std::string render_users(const std::vector<user_view>& users, std::size_t count);

// ---- WebSocket messages (docs/design.md §4) ---------------------------------------------------
// {"type":"verdict","requestId","userId","videoId","sessionId","verdict","streamId"?,"active",
//  "limit","overLimit"?,"stream"|"reason"+"streams","seq"}, with "playback" first when `pass`;
// {"type":"ended","streamId","userId","reason","seq"}; {"type":"revoked","userId","seq"}.
std::string render_event(const event_body& event, std::uint64_t seq, const playback_pass* pass);
// {"type":"snapshot","userId","streams","limit","epoch","seq"}
std::string render_snapshot(const user_snapshot& s);
// {"type":"heartbeat","streamId","playback"?,"expiresAt"}
std::string render_socket_heartbeat(std::string_view stream_id, const lease& l,
                                    const playback_pass* pass);
// {"type":"error","<key>":"<value>"?,"error":{...}}: the key names what failed ("requestId",
// "streamId"), when something did.
std::string render_socket_error(const error& e, std::string_view key = {},
                                std::string_view value = {});

}  // namespace streamgate
