#include "api/worker_link/worker_link.hpp"

#include <boost/asio/async_result.hpp>
#include <functional>
#include <utility>
#include <variant>

#include "api/worker_link/route_key.hpp"
#include "common/clock.hpp"
#include "common/codec.hpp"

namespace streamgate {

namespace {

// Bounds the memory io threads can queue while the bridge is behind; beyond it callers get 503.
constexpr std::size_t max_queued_calls = 65'536;

// Which requests may be resent after a lost reply. One overload per op (no catch-all), so a new
// op does not compile until someone decides.
struct idempotence final {
  bool operator()(const start_request&) const { return true; }      // the worker dedupes requestId
  bool operator()(const heartbeat_request&) const { return true; }  // extends the same lease
  bool operator()(const stop_request&) const { return false; }
  bool operator()(const stop_all_request&) const { return false; }
  bool operator()(const get_user_request&) const { return true; }
  bool operator()(const list_users_request&) const { return true; }
  bool operator()(const create_user_request&) const { return false; }
  bool operator()(const patch_user_request&) const { return false; }
  bool operator()(const list_streams_request&) const { return true; }
  bool operator()(const snapshot_request&) const { return true; }
  bool operator()(const list_videos_request&) const { return true; }
  bool operator()(const get_video_request&) const { return true; }
  bool operator()(const get_request_request&) const { return true; }
  bool operator()(const ping_request&) const { return true; }
  bool operator()(const list_events_request&) const { return true; }
  bool operator()(const authenticate_request&) const { return true; }
  bool operator()(const stats_request&) const { return true; }
  bool operator()(const list_plans_request&) const { return true; }
  bool operator()(const rotate_token_request&) const { return true; }  // sets the same hash
  bool operator()(const delete_user_request&) const { return false; }  // a resend would be 404
};

}  // namespace

worker_link::worker_link(const std::vector<worker_endpoint>& workers, const api_link_keys& keys,
                         ws_registry& events, std::chrono::milliseconds send_only_window,
                         playback_gate& playback, token_cache& confirmed_tokens)
    : calls_(max_queued_calls),
      send_only_window_(send_only_window),
      bridge_(workers, keys, calls_, in_flight_, events, stats_, next_corr_, playback,
              confirmed_tokens) {}

void worker_link::start(asio::io_context& io) { bridge_.start(io); }

void worker_link::stop() { bridge_.stop(); }

void worker_link::detach() { bridge_.detach(); }

worker_call worker_link::make_call(request_body body, std::chrono::milliseconds timeout) {
  worker_call c;
  c.corr = next_corr_.fetch_add(1, std::memory_order_relaxed);
  c.idempotent = std::visit(idempotence{}, body);
  c.route_key = route_key_of(body, c.corr);
  if (const auto* start = std::get_if<start_request>(&body)) {
    c.request_id = start->request_id;
    c.user_id = start->user_id;
  }
  c.created = std::chrono::steady_clock::now();
  c.deadline = c.created + timeout;
  // Encoded here, on the io threads, so the bridge's strand only moves bytes.
  c.wire = encode_request(request{c.corr, std::move(body), now().wall_ms + timeout.count()});
  return c;
}

bool worker_link::submit(worker_call&& c) {
  if (!c.request_id.empty()) in_flight_.add(c.request_id);
  switch (calls_.push(std::move(c))) {
    case call_queue::pushed::first:
      bridge_.wake();
      return true;
    case call_queue::pushed::behind:
      return true;
    case call_queue::pushed::refused:
      break;
  }
  // Not moved from: push leaves a refused call as it was.
  stats_.queue_full.fetch_add(1, std::memory_order_relaxed);
  if (!c.request_id.empty()) in_flight_.remove(c.request_id);
  return false;
}

asio::awaitable<std::optional<worker_reply>> worker_link::call(request_body body,
                                                               std::chrono::milliseconds timeout) {
  worker_call prepared = make_call(std::move(body), timeout);
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable),
                                          void(std::optional<worker_reply>)>(
      [this](auto handler, worker_call c) {
        c.waiter.emplace(std::move(handler));
        if (!submit(std::move(c))) std::move(*c.waiter).complete(std::nullopt);
      },
      asio::use_awaitable, std::move(prepared));
}

bool worker_link::send_only(request_body body) {
  return submit(make_call(std::move(body), send_only_window_));
}

bool worker_link::worker_up() const { return bridge_.worker_up(); }

bool worker_link::in_flight(std::string_view request_id) const {
  return in_flight_.contains(request_id);
}

}  // namespace streamgate
