#pragma once

// The messages between api and worker. Wire format (ZeroMQ); each message carries a batch, one
// entry after the other, so that libzmq wakes its I/O threads once per batch rather than once
// per entry (docs/design.md §10):
//   api -> worker, DEALER -> ROUTER: one frame per request, a JSON request (encode_request /
//     decode_request); what a worker's batch has no room for waits for its next batch
//     {"op":"start","corr":7,"requestId":"r_1","userId":"alice","videoId":"v1","sessionId":"s"}
//     (a start whose requestId the api made ends with "requestIdMade":true)
//   worker -> api, ROUTER -> DEALER: four frames per reply, the batch's replies to that api
//     [corr: decimal text] [outcome: to_string(outcome)] [body: encode_reply_body]
//     [playback note, or empty when none]
//   worker -> apis, PUB -> SUB: the message's position, then four frames per event, all the
//     batch's events
//     [position: encode_event_position, its number 1, 2, 3, ... over the worker process's life]
//     [topic: userId] [event: encode_event_body] [sequence: "<epoch> <seq>"]
//     [playback note, or empty when none]
//   and, for each ping a worker takes, a heartbeat of four frames [""] [dataset id] [position:
//   the messages of events published so far] [the worker lives the store names alive:
//   encode_worker_lives]: an api relies on a worker only while it hears it here too (a SUB misses
//   what is published before it joins), and serves no media while a life named there goes
//   unheard (docs/design.md §9).
//   A PUB drops the messages a slow api cannot take, unannounced, and a SUB misses what is
//   published before it joins: a number missing, or a new life, tells that api it may have missed
//   ends and revocations (api/worker_link/zmq_bridge_receive.cpp).
//   seq numbers a user's events 1, 2, 3, ... within an epoch (one worker process's life with
//   the embedded store; the whole Redis dataset with Redis). The snapshot reply carries the
//   epoch and the seq it reflects, so an api can order a user's events against a snapshot: an
//   event it did not expect (a gap after a PUB drop, a late one, a new epoch after a restart)
//   makes it fetch a fresh snapshot for that user's WebSockets (api/websocket/event_order.hpp).
// A message holds at most max_entries_per_message entries; a larger batch leaves as several.
// Replies and events are typed (common/worker_replies.hpp, carried by common/wire/worker_codec):
// the worker knows no client JSON; the api renders every body once (api/views,
// docs/design.md §10).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/domain.hpp"
#include "common/error.hpp"

namespace streamgate {

// Entries (requests, replies or events) one message carries at most. Sockets bound their queues
// in messages (ZeroMQ's high-water marks), so this is what turns those bounds into bounds on
// entries; and a batch of this many already wakes a peer's I/O thread once for all of them.
inline constexpr std::size_t max_entries_per_message = 64;

struct start_request {
  std::string request_id;
  std::string user_id;
  std::string video_id;
  std::string session_id;
  // The api made request_id (the client gave none): no other user can hold it, so the worker
  // does not look up its owner, a round trip to a shared store (docs/design.md §8).
  bool request_id_made = false;
};
struct heartbeat_request {
  std::string user_id;
  std::string stream_id;
};
struct stop_request {
  std::string user_id;
  std::string stream_id;
};
struct stop_all_request {
  std::string user_id;
};
struct get_user_request {
  std::string user_id;
};
// The page sizes of GET /api/v1/users (?limit=).
inline constexpr int max_users_page = 1000;
inline constexpr int default_users_page = 100;
// One page of the users whose name matches, sorted by id (docs/design.md §3, paging).
struct list_users_request {
  std::string name_filter;  // case-insensitive substring; empty matches all
  // Wire "after": the page starts after this user id (the client's cursor); absent: the first.
  std::optional<std::string> after{};
  // At most this many users; the api asks one more than the client's page to learn whether a
  // next page exists, so the wire allows up to max_users_page + 1.
  int limit = default_users_page;
};
struct create_user_request {
  std::optional<std::string> id;  // assigned by the worker when absent
  std::string name;
  std::optional<int> max_streams;
  std::optional<policy> policy_override;
  // SHA-256 of the user's bearer token, 64 lowercase hex digits (wire "tokenHash"). The api
  // makes the token and sends only this; never rendered back to any client.
  std::optional<std::string> token_hash{};
  std::optional<std::string> plan{};  // a plan id (GET /api/v1/plans)
};
struct patch_user_request {
  std::string user_id;
  std::optional<std::string> name;
  std::optional<int> max_streams;
  std::optional<policy> policy_override;
  std::optional<std::string> plan{};
};
struct list_streams_request {
  std::string user_id;
};
// Reply body: user_snapshot, rendered as the WebSocket "snapshot" message of the user.
struct snapshot_request {
  std::string user_id;
};
struct list_videos_request {};
struct get_video_request {
  std::string video_id;
};
struct get_request_request {
  std::string request_id;
  // Wire "userId", optional: when set, a verdict of another user is not_found, so a caller with
  // a user's token cannot learn of other users' requests (--auth token).
  std::optional<std::string> owner_id{};
};
// The api's liveness probe. `clock_offset_ms` (wire "clockOffset", within a day either way): the
// api's last measure of this worker's wall clock minus its own (api/worker_link/clock_offset.hpp),
// which the worker adds to the deadlines of what that api sends, so that clocks apart do not make
// it refuse every request, or decide late ones (docs/design.md §5). Reply body: clock_reading,
// answered as soon as it is read, with the worker's life (docs/design.md §9).
struct ping_request {
  int clock_offset_ms = 0;
};
// The most a measured clock offset may be, either way: hosts a day apart are not served sanely
// anyway, and the bound keeps every sum of a deadline and an offset far from overflow.
inline constexpr int max_clock_offset_ms = 86'400'000;
// The user's audit trail, newest first.
struct list_events_request {
  std::string user_id;
  int limit = 100;
};
// Whether `token_hash` (wire "tokenHash", as in create_user) is the user's token hash: ok with
// no body, forbidden when it is not (or the user has none), not_found for an unknown user.
// Read-only; the api caches ok answers for a while.
struct authenticate_request {
  std::string user_id;
  std::string token_hash;
};
// The worker's own counters, for the api's /metrics; reply body: worker_stats. Requests are those
// other than ping and stats.
struct stats_request {};
// GET /api/v1/plans: [{"id","maxStreams","policy"}], sorted by id.
struct list_plans_request {};
// POST /api/v1/users/{id}/token: the user's token becomes the one whose SHA-256 is `token_hash`
// (made by the api, as in create_user); reply body: the user. Every api forgets the old token
// when it hears the user's access note (docs/design.md §6, revocation).
struct rotate_token_request {
  std::string user_id;
  std::string token_hash;
};
// DELETE /api/v1/users/{id}: ends the user's streams (reason "deleted") and removes the user,
// its audit trail included; reply no_content.
struct delete_user_request {
  std::string user_id;
};

using request_body =
    std::variant<start_request, heartbeat_request, stop_request, stop_all_request, get_user_request,
                 list_users_request, create_user_request, patch_user_request, list_streams_request,
                 snapshot_request, list_videos_request, get_video_request, get_request_request,
                 ping_request, list_events_request, authenticate_request, stats_request,
                 list_plans_request, rotate_token_request, delete_user_request>;

struct request {
  std::uint64_t corr = 0;  // chosen by the api to match the reply to its caller
  request_body body;
  // The api's wall-clock time (ms) after which it answers its caller without this request's
  // reply; 0: none. A worker that has not decided the request by then (it hung meanwhile) does
  // not decide it: the caller was told 503 and may have retried elsewhere and gone on
  // (docs/design.md §5). Read in the worker's clock with the api's last clock offset.
  std::int64_t deadline_ms = 0;
};

// The user a request is about: its user_id, or the id a create names. None for the ops about no
// user, and for a create that leaves the id to the worker. The apis route by it
// (api/worker_link/route_key), and the worker groups a batch by it (worker/server/decider_batch).
std::optional<std::string_view> user_named_by(const request_body& body);

// How a request ended; the api maps it to an HTTP status in one table.
enum class outcome {
  ok,          // 200
  created,     // 201
  no_content,  // 204
  allowed,     // 201, body {"verdict":"allowed","stream":{...}}
  denied,      // 429, body {"verdict":"denied","reason":...}
  bad_request,
  forbidden,  // authenticate: the token is not the user's
  not_found,
  conflict,
  unavailable,
  internal,
};

std::string_view to_string(outcome o);
std::optional<outcome> parse_outcome(std::string_view text);
outcome outcome_of(error_code code);

// The playback note (docs/design.md §9): what a reply or an event means for playback and access,
// typed, so the api signs tokens and revokes them without reading the JSON body.
//   "grant <streamId> <userId> <videoId>": the reply or event leaves this stream live (an allowed
//     start, a heartbeat, a found allowed request): the api adds a fresh playback token.
//   "end <streamId>": the event ends this stream: every api refuses its tokens from now on.
//   "revoke <userId>": the user's token was replaced or the user deleted: every api forgets the
//     tokens it confirmed for the user and closes the user's WebSockets (docs/design.md §6).
struct playback_grant {
  std::string stream_id;
  std::string user_id;
  std::string video_id;
  bool operator==(const playback_grant&) const = default;
};
struct playback_end {
  std::string stream_id;
  bool operator==(const playback_end&) const = default;
};
struct access_revoked {
  std::string user_id;
  bool operator==(const access_revoked&) const = default;
};
using playback_note = std::variant<playback_grant, playback_end, access_revoked>;

std::string encode_playback_note(const playback_note& note);
// Nullopt unless the frame is exactly one of the three forms with valid ids.
std::optional<playback_note> parse_playback_note(std::string_view frame);

// A frame "<id> <count>": an id, one space, a decimal count. An event's sequence is one
// ("<epoch> <seq>"), and so is a message's position ("<life> <published>", below).
struct counted_id {
  std::string_view id;
  std::uint64_t count = 0;
};
std::string encode_counted_id(std::string_view id, std::uint64_t count);
// Nullopt unless the frame is a valid id, one space and a decimal count.
std::optional<counted_id> parse_counted_id(std::string_view frame);

// Where a worker's events stand (docs/design.md §9): the life of the worker process (an id drawn
// at its start, so a restarted worker is told apart even where its counts meet) and how many
// messages of events it has published in it. Frame: "<life> <published>" (counted_id).
struct event_position {
  std::string life;
  std::uint64_t published = 0;
  bool operator==(const event_position&) const = default;
};

std::string encode_event_position(const event_position& position);
std::optional<event_position> parse_event_position(std::string_view frame);

// The lives of the workers that decide for a dataset now, as its store names them
// (store::live_workers): ids separated by one space; empty for none. At most max_worker_lives.
inline constexpr std::size_t max_worker_lives = 256;
std::string encode_worker_lives(const std::vector<std::string>& lives);
// Nullopt unless the frame is empty or valid ids, each after one space but the first, and at
// most max_worker_lives of them.
std::optional<std::vector<std::string>> parse_worker_lives(std::string_view frame);

// Limits of the strict decoders (docs/design.md §5).
inline constexpr std::size_t max_name_length = 200;
inline constexpr std::size_t max_json_depth = 16;
inline constexpr int max_streams_ceiling = 1000;
inline constexpr int max_audit_limit = 1000;
inline constexpr int default_audit_limit = 100;

}  // namespace streamgate
