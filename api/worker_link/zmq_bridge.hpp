#pragma once

// Owns every ZeroMQ socket of the api (they are not thread-safe): a DEALER to each worker's
// requests endpoint and a SUB to each worker's events endpoint. It runs on one strand of the
// api's io_context (docs/design.md §1): no thread of its own, so a call and its reply cross no
// thread of the api's. It sends the calls io threads queue, resends idempotent ones whose reply
// is late (Lazy Pirate), gives up at their deadline, pings every worker for liveness and hands
// events to the WebSockets.
//
// A late reply is resent only when the request may be lost: it was refused (no worker
// connected), or the connection it went out on has dropped since (seen by a socket monitor), or
// another worker now serves its user. A worker that is merely slow already holds the request,
// and resending to it would multiply its load exactly when it is overloaded.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <zmq.hpp>

#include "api/auth/token_cache.hpp"
#include "api/playback/playback_gate.hpp"
#include "api/websocket/ws_registry.hpp"
#include "api/worker_link/call_queue.hpp"
#include "api/worker_link/clock_offset.hpp"
#include "api/worker_link/in_flight_requests.hpp"
#include "api/worker_link/link_stats.hpp"
#include "api/worker_link/zmq_readable.hpp"
#include "common/config.hpp"
#include "common/messages.hpp"

namespace streamgate {

class zmq_bridge final {
 public:
  // Connects the sockets at once, so a bad endpoint fails at start-up (zmq::error_t). With
  // `keys`, every socket is a CURVE client of the workers (docs/design.md §6).
  zmq_bridge(const std::vector<worker_endpoint>& workers, const api_link_keys& keys,
             call_queue& calls, in_flight_requests& in_flight, ws_registry& events,
             link_stats& stats, std::atomic<std::uint64_t>& next_corr, playback_gate& playback,
             token_cache& confirmed_tokens);
  ~zmq_bridge();
  zmq_bridge(const zmq_bridge&) = delete;
  zmq_bridge& operator=(const zmq_bridge&) = delete;

  // Starts watching the sockets and pinging the workers on a strand of `io`.
  void start(asio::io_context& io);
  // Every caller still waiting resumes with nullopt, soon, on the strand. Idempotent.
  void stop();
  // With no thread running `io` any more, and before it is destroyed (also when it never ran):
  // what stop() does, at once, and the Asio objects are destroyed. Always called last.
  void detach();
  // Any thread: takes what the call queue holds, on the strand. Called for the first call queued.
  void wake();

  // Any thread: a worker answered within the last liveness window.
  bool worker_up() const;

 private:
  using clock = std::chrono::steady_clock;
  // Three missed pings: a worker busy with one long batch is not declared dead at once.
  static constexpr std::chrono::milliseconds liveness_window{1500};

  struct worker_sockets {
    zmq::socket_t requests;        // DEALER
    zmq::socket_t events;          // SUB
    zmq::socket_t monitor;         // PAIR: the DEALER's disconnections
    std::uint64_t connection = 0;  // counts the DEALER's disconnections
    // Each socket's readiness, on the strand (see zmq_readable).
    std::unique_ptr<zmq_readable> requests_ready{};
    std::unique_ptr<zmq_readable> events_ready{};
    std::unique_ptr<zmq_readable> monitor_ready{};
    bool sent = false;  // since its DEALER's readiness was last checked
    clock::time_point last_reply{};
    // Its events: a SUB joins asynchronously and misses what is published before, so a worker
    // serves only once it is heard here too (its PUB answers every ping with a heartbeat).
    clock::time_point last_heard{};
    // Heard again after a silence (the link held up, or this api frozen), since then: what waited
    // is a backlog, and the worker counts as heard only once this api heard as many messages as a
    // ping sent after that said were published (note_caught_up).
    bool catching_up = false;
    clock::time_point catching_up_since{};
    // Where its events stood at the last message or heartbeat heard: its life and the messages
    // published in it. None until one is heard (common/messages.hpp, event_position).
    std::optional<event_position> heard_through{};
    // Where its events stood when it answered its last ping (clock_reading), and when that ping
    // left: its events count as heard only from that life, since a killed worker's last messages
    // may still arrive after its successor answers. None, so unchecked, until a ping is answered
    // and from when another life is heard until the next.
    std::optional<event_position> answered_through{};
    clock::time_point answered_ping_sent{};
    std::uint64_t answered_on = 0;  // the connection count when that ping left
    // The worker lives its store named alive at its last heartbeat (store::live_workers).
    std::vector<std::string> named_lives{};
    // The dataset its heartbeats announce; a worker of another dataset than the api's is never
    // routed to (docs/design.md, "Stores": one dataset per deployment; serves_our_dataset).
    std::string dataset{};
    // How far its clock is from ours; its pings carry it (deadlines, docs/design.md §5).
    clock_offset clock_apart{};
    bool clock_warned = false;  // told the operator that it is far
    // It served this api's dataset and answered at the last update_up(); it stopped, and no
    // worker answered since (zmq_bridge_liveness.cpp, forget_the_lost).
    bool answering = false;
    bool lost = false;
    bool was_alive = false;  // at the last update_up()
    bool hearing = false;    // hears_what_it_decides at the last send_held()
  };
  struct pending_call {
    worker_call call;
    std::chrono::milliseconds retry_interval;
    clock::time_point next_action;       // the next resend, or the deadline
    std::optional<std::size_t> sent_to;  // the worker that took it; none when refused
    std::uint64_t sent_on = 0;           // that worker's connection count then
    // Wall-clock ms when the strand took it: its reply's playback token is signed as of then, so
    // a gap in the events heard while it was out refuses that token too (docs/design.md §9).
    std::int64_t taken_wall_ms = 0;
  };
  struct timer {
    clock::time_point at;
    std::uint64_t corr;
    bool operator>(const timer& other) const { return at > other.at; }
  };
  struct ping {
    std::size_t worker;
    clock::time_point sent_at;
    std::int64_t sent_wall_ms;
    std::uint64_t sent_on;  // its worker's connection count then
  };
  using pending_map = std::unordered_map<std::uint64_t, pending_call>;

  // Playback tokens run on wall-clock time: every api of a deployment checks them.
  static std::int64_t wall_ms();
  void close(bool destroy);
  void take_calls();
  void tick();
  // After every piece of work on the strand: re-checks the DEALERs sent on, updates liveness
  // and arms the timer for what is due next.
  void settle(clock::time_point now);
  void arm_timer(clock::time_point now);
  // Sends to the worker the call's user is routed to now; false when it was refused.
  bool send(pending_call& p, clock::time_point now);
  // Sends the calls to worker `target` as one message; false when it was refused.
  bool send(std::size_t target, const std::vector<pending_call*>& calls);
  bool may_be_lost(const pending_call& p, clock::time_point now) const;
  void schedule(std::uint64_t corr, pending_call& p, clock::time_point now);
  void fire_timers(clock::time_point now);
  // Once a worker is heard again from the life that answers (hears_what_it_decides), the calls
  // not sent, held back or refused, leave at once rather than at their next look.
  void send_held(clock::time_point now);
  void finish(pending_map::iterator it, std::optional<worker_reply> reply);
  void ping_workers(clock::time_point now);
  // A ping's answer: the worker's clock as it answered.
  void measure_clock(const ping& p, std::int64_t worker_wall_ms);
  // Each reads one batch at most and returns true when it stopped at the batch (zmq_readable).
  bool receive_replies(std::size_t worker, clock::time_point now);
  bool receive_events(worker_sockets& w, clock::time_point now);
  // One reply or event: the frames_per_entry frames from `entry` (zmq_bridge_receive.cpp).
  void take_reply(std::size_t worker, const zmq::message_t* entry, clock::time_point now);
  void take_event(const zmq::message_t* entry);
  // Whatever was published while this api could not hear it may have ended streams and revoked
  // tokens unheard: playback tokens signed until now are refused, every confirmed bearer token is
  // asked again, and every WebSocket fetches a fresh snapshot.
  void forget_what_went_unheard();
  // Where `w`'s events stand, from a message of events or (`heartbeat`) a heartbeat. The first
  // heard, another life, or a count that skips means messages went unheard.
  void note_position(worker_sockets& w, event_position position, bool heartbeat);
  // Its heartbeats named the dataset this api serves (one heard, so never before its first).
  bool serves_our_dataset(const worker_sockets& w) const;
  void note_dataset(worker_sockets& w, std::string_view dataset);
  bool receive_disconnections(std::size_t worker);
  void mark_alive(std::size_t worker, clock::time_point now);
  // Ends catching up once what was published when a later ping was answered has been heard.
  static void note_caught_up(worker_sockets& w);
  // Its events came lately, from the life that answers its pings, and it is not catching up.
  static bool heard(const worker_sockets& w, clock::time_point now);
  // Answers requests and is heard on its event socket.
  bool alive(const worker_sockets& w, clock::time_point now) const;
  // Whether what `w` publishes from now on reaches this api: the life heard on its events
  // answered a ping over the DEALER's current connection, so a call sent now goes to that life.
  static bool hears_what_it_decides(const worker_sockets& w);
  // Whether `p` may go to worker `target` now. A start answered 202, or sent over a WebSocket,
  // is told its verdict only by the worker's events: it waits for a worker this api hears what
  // it decides (docs/design.md §5).
  bool may_send(const pending_call& p, std::size_t target) const;
  // Up when some worker is alive, none answers without being heard (this api would miss the
  // events of what it decides), every life named alive is heard (misses_a_life_), and this api
  // routes (routing_).
  void update_up(clock::time_point now);
  // A worker stopped answering and another answers: what it ended may never be heard here.
  void forget_the_lost();
  // Whether a worker life that the heartbeats heard name alive goes unheard here (an api cut off
  // from a worker that still decides for other apis would miss its ends): kept in
  // misses_a_life_, checked at every ping and whenever a worker comes alive or stops being so.
  void check_named_lives(clock::time_point now);
  // A worker of an exclusive store (SQLite) names only its own life: two such of one dataset
  // serve copies of one store, each its only writer.
  static bool names_itself_alone(const worker_sockets& w);
  // Each logs when its condition starts and ends.
  void note_split(bool foreign_heard);
  void note_copies(bool copies);
  void note_unheard_answers(bool unheard_answers);
  // Where a call goes; none while this api routes nowhere (routing_) or knows no worker of its
  // dataset.
  std::optional<std::size_t> pick_worker(std::size_t route_key, clock::time_point now) const;
  clock::time_point next_due(clock::time_point now) const;
  void fail_all();

  call_queue& calls_;
  in_flight_requests& in_flight_;
  ws_registry& events_;
  // Signs the playback of what replies and events grant, and hears which streams ended.
  playback_gate& playback_;
  token_cache& confirmed_tokens_;
  link_stats& stats_;
  std::atomic<std::uint64_t>& next_corr_;

  zmq::context_t context_{1};
  std::vector<worker_sockets> workers_;

  // On the strand only. The Asio objects exist from start() to the last stop().
  std::optional<asio::strand<asio::io_context::executor_type>> strand_;
  std::optional<asio::steady_timer> timer_;
  clock::time_point timer_at_ = clock::time_point::max();
  pending_map pending_;
  std::priority_queue<timer, std::vector<timer>, std::greater<>> timers_;
  std::unordered_map<std::uint64_t, ping> pings_;
  std::vector<worker_call> taken_;      // reused for every batch taken from the queue
  std::vector<zmq::message_t> frames_;  // reused for every message read
  clock::time_point next_ping_{};
  std::string dataset_;  // the first dataset heard: the one this api serves
  // A worker of another dataset answers: this api routes to no worker at all while it does, since
  // an api that heard that one first would serve it (docs/design.md §8, "Dataset identity").
  bool split_ = false;
  // Nor while two workers of its dataset each name only their own life alive: copies of one
  // exclusive store (a SQLite file copied), each of which would grant a user the limit.
  bool copies_ = false;
  // Nor while a worker whose dataset it has not heard yet answers, or may (until settled_by_,
  // a liveness window after start: every live worker has answered a ping by then).
  bool routing_ = false;
  clock::time_point settled_by_ = clock::time_point::max();
  // Past settled_by_, a worker answers whose events this api has never heard (its --events
  // endpoint is likely wrong): kept so that the start and end of it are each logged once.
  bool unheard_answers_ = false;
  // Each life named alive: since when. A life is given a liveness window to be heard before
  // this api counts it missed (a worker that just started).
  std::unordered_map<std::string, clock::time_point> named_since_;
  // Lives of workers heard to restart since (another life at their endpoint): gone, whatever the
  // store still names until their mark lapses.
  std::unordered_set<std::string> ended_lives_;
  bool misses_a_life_ = false;

  std::atomic<bool> up_{false};  // update_up()'s verdict, for worker_up() on io threads
  std::atomic<bool> stopping_{false};
  bool closed_ = false;
};

}  // namespace streamgate
