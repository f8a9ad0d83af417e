// The worker gone (docs/design.md §3, §5): the api says so in /health, answers a waiting start
// with 503 and Retry-After, and recovers when the worker comes back; no request is decided twice.

#include <catch2/catch.hpp>
#include <set>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

TEST_CASE("with the worker down the api reports it and answers 503, and recovers after a restart",
          "[integration][worker-down]") {
  stack s(stack_options{}.verdict_timeout_ms(300));
  http_client http(s.http_port());
  const auto user = create_user(http);
  REQUIRE(start(http, user, start_args{}.session("before")).status == 201);

  s.kill9_worker();

  http_response health;
  const bool down = wait_until(
      [&] {
        health = http.get("/health");
        return health.status == 503;
      },
      20s);
  INFO("health: " << health.describe());
  REQUIRE(down);
  CHECK(health.has_json_content_type());
  CHECK(json::str(health.json(), "worker") == "DOWN");

  const auto waiting = start(http, user, start_args{}.session("during").request("req-during"));
  INFO("start while down: " << waiting.describe());
  REQUIRE(waiting.status == 503);
  CHECK_FALSE(waiting.header("Retry-After").empty());
  check_error(waiting, 503, "unavailable");
  // Other routes that need the worker say so too rather than hang.
  check_error(http.get(streams_path(user)), 503, "unavailable");
  {
    // A WebSocket opened meanwhile is told so in-band (a browser sees no upgrade's status), and
    // closed as "try again later" (RFC 6455 §7.4.1, 1013), which a client retries.
    ws_client ws(s.http_port(), ws_client::target_for(user));
    const auto m = ws.read_json();
    INFO("first message: " << json::dump(m));
    CHECK(json::str(m["error"], "code") == "unavailable");
    CHECK(ws.wait_closed(10s));
    CHECK(ws.close_code() == 1013);
  }

  s.start_worker();
  s.wait_healthy();
  const auto back = http.get("/health");
  INFO("health after restart: " << back.describe());
  CHECK(json::str(back.json(), "worker") == "UP");

  // The timed-out request may have been decided after the worker came back (the api retries it);
  // asking again with the same id gets that one decision, never a second stream.
  const auto retried = start(http, user, start_args{}.session("during").request("req-during"));
  INFO("retry: " << retried.describe());
  REQUIRE(retried.status == 201);
  CHECK(stream_ids(http, user).size() == 2);

  const auto fresh = start(http, user, start_args{}.session("after"));
  INFO("after restart: " << fresh.describe());
  CHECK(fresh.status == 201);
  CHECK(stream_ids(http, user).size() == 3);
}

TEST_CASE("a start without wait while the worker is down is decided once it is back",
          "[integration][worker-down]") {
  stack s(stack_options{}.verdict_timeout_ms(300));
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);

  s.kill9_worker();
  REQUIRE(wait_until([&] { return http.get("/health").status == 503; }, 20s));
  const auto r = start(http, user, start_args{}.session("queued").request("req-queued").no_wait());
  INFO(r.describe());
  // Either accepted for later (202) or refused now (503): never a silent loss.
  REQUIRE((r.status == 202 || r.status == 503));

  s.start_worker();
  s.wait_healthy();
  if (r.status == 202) {
    // "deliver the verdict after retry" (docs/design.md §5).
    const auto verdict = read_verdict(ws, "req-queued", 30s);
    CHECK(json::str(verdict, "verdict") == "allowed");
    CHECK(stream_ids(http, user).size() == 1);
  } else {
    CHECK(r.header("Retry-After") != "");
  }
}

TEST_CASE("a start accepted with 202 just before the worker crashes is decided after its restart",
          "[integration][worker-down]") {
  // The api resends an accepted start whose connection dropped for --accepted-start-ms (a
  // minute by default), far more than a restart takes.
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);

  // A hung worker still looks alive for a moment, so the api accepts and sends the start; the
  // request then dies, unread, with the worker.
  s.pause_worker();
  const auto r =
      start(http, user, start_args{}.session("in-flight").request("req-in-flight").no_wait());
  INFO(r.describe());
  REQUIRE(r.status == 202);
  s.kill9_worker();
  s.start_worker();

  // Resent within half a second of the worker's return (api/worker_link/zmq_bridge.cpp), not a
  // quarter of --accepted-start-ms later (15 s) as before; the bound leaves room for a slow host.
  const auto verdict = read_verdict(ws, "req-in-flight", 8s);
  INFO("verdict: " << json::dump(verdict));
  CHECK(json::str(verdict, "verdict") == "allowed");
  CHECK(stream_ids(http, user) == std::vector<std::string>{json::str(verdict, "streamId")});
  // Decided once: the same requestId again is that decision.
  const auto replay = start(http, user, start_args{}.session("in-flight").request("req-in-flight"));
  INFO("replay: " << replay.describe());
  REQUIRE(replay.status == 201);
  CHECK(json::str(replay.json()["stream"], "streamId") == json::str(verdict, "streamId"));
}

TEST_CASE("a hung worker that resumes delivers the verdicts of the starts it held",
          "[integration][worker-down]") {
  stack s(stack_options{}.verdict_timeout_ms(300));
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);

  s.pause_worker();
  const auto accepted =
      start(http, user, start_args{}.session("held").request("req-held").no_wait());
  INFO("accepted: " << accepted.describe());
  REQUIRE(accepted.status == 202);
  // A waiting start meanwhile gets 503 and Retry-After, not a hang.
  const auto waiting = start(http, user, start_args{}.session("waiting").request("req-waiting"));
  INFO("waiting: " << waiting.describe());
  CHECK(waiting.status == 503);
  CHECK_FALSE(waiting.header("Retry-After").empty());
  s.resume_worker();

  const auto verdict = read_verdict(ws, "req-held", 20s);
  CHECK(json::str(verdict, "verdict") == "allowed");
  s.wait_healthy();
  // The timed-out waiting start may have been decided when the worker woke up: asking again
  // with its requestId gets that one decision.
  const auto again = start(http, user, start_args{}.session("waiting").request("req-waiting"));
  INFO("again: " << again.describe());
  REQUIRE(again.status == 201);
  CHECK(stream_ids(http, user).size() == 2);
}

TEST_CASE("a start accepted with 202 and lost in a long outage can be retried and is decided once",
          "[integration][worker-down]") {
  stack s(stack_options{}.verdict_timeout_ms(300));
  http_client http(s.http_port());
  const auto user = create_user(http);

  s.pause_worker();
  const auto r = start(http, user, start_args{}.session("lost").request("req-lost").no_wait());
  INFO(r.describe());
  REQUIRE(r.status == 202);
  s.kill9_worker();
  REQUIRE(wait_until([&] { return http.get("/health").status == 503; }, 20s));
  s.start_worker();
  s.wait_healthy();

  // Whatever became of it, a client that asks and then retries with the same id ends up with
  // exactly one stream.
  const auto asked = http.get("/api/v1/requests/req-lost");
  INFO("asked: " << asked.describe());
  CHECK((asked.status == 200 || asked.status == 404));
  const auto retried = start(http, user, start_args{}.session("lost").request("req-lost"));
  INFO("retried: " << retried.describe());
  REQUIRE(retried.status == 201);
  const auto again = start(http, user, start_args{}.session("lost").request("req-lost"));
  REQUIRE(again.status == 201);
  CHECK(json::str(again.json()["stream"], "streamId") ==
        json::str(retried.json()["stream"], "streamId"));
  CHECK(stream_ids(http, user).size() == 1);
}

TEST_CASE("a malformed ZeroMQ message to the worker is dropped and the worker keeps running",
          "[integration][worker-down]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);

  zmq::context_t context;
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect("tcp://127.0.0.1:" + std::to_string(s.requests_port()));
  const std::vector<std::string> garbage_messages{"", "not json", R"({"op":"start"})",
                                                  R"({"op":"explode","corr":1})",
                                                  std::string(100000, '{')};
  for (const auto& garbage : garbage_messages) {
    dealer.send(zmq::buffer(garbage), zmq::send_flags::none);
  }
  // A message of two requests, neither one.
  dealer.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);
  dealer.send(zmq::str_buffer("b"), zmq::send_flags::none);
  // A well-formed ping after the garbage (common/messages.hpp): its reply, on the same
  // connection, shows the worker read past everything sent before it and is still answering.
  dealer.send(zmq::str_buffer(R"({"op":"ping","corr":4242})"), zmq::send_flags::none);
  dealer.set(zmq::sockopt::rcvtimeo, 10000);
  bool ping_answered = false;
  while (!ping_answered) {
    std::vector<zmq::message_t> frames;
    const auto received = zmq::recv_multipart(dealer, std::back_inserter(frames));
    REQUIRE(received.has_value());  // none: no reply within 10 s
    REQUIRE_FALSE(frames.empty());
    ping_answered = frames[0].to_string() == "4242";
    if (ping_answered) {
      // One reply: [corr] [outcome] [body] [no playback note] (common/messages.hpp).
      REQUIRE(frames.size() == 4);
      CHECK(frames[1].to_string() == "ok");
      CHECK(frames[3].size() == 0);
    }
  }

  CHECK(s.worker_running());
  const auto r = start(http, user, start_args{}.session("after-garbage"));
  INFO(r.describe());
  CHECK(r.status == 201);
  CHECK(http.get("/health").status == 200);
}

TEST_CASE("a message of several requests gets each answered, a malformed one among them dropped",
          "[integration][worker-down]") {
  // An api sends the calls it takes at once as one message, a frame each, and a worker answers
  // a batch's replies as one message, four frames each, at most max_entries_per_message in one
  // (common/messages.hpp). With a batch of one, the message's later requests wait for the next
  // batches.
  const std::vector<std::string> worker_args =
      GENERATE(std::vector<std::string>{}, std::vector<std::string>{"--max-batch", "1"});
  INFO("worker flags: " << (worker_args.empty() ? "none" : worker_args[0] + " " + worker_args[1]));
  stack s(stack_options{}.worker_args(worker_args));
  zmq::context_t context;
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 10000);
  dealer.connect("tcp://127.0.0.1:" + std::to_string(s.requests_port()));
  // More than one reply message holds, a malformed one among them.
  std::vector<std::string> requests;
  std::set<std::string> expected;
  for (int corr = 501; corr <= 600; ++corr) {
    requests.push_back(R"({"op":"ping","corr":)" + std::to_string(corr) + "}");
    expected.insert(std::to_string(corr));
    if (corr == 502) requests.emplace_back("not json");
  }
  for (std::size_t i = 0; i < requests.size(); ++i)
    dealer.send(zmq::buffer(requests[i]),
                i + 1 < requests.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);

  std::set<std::string> answered;
  while (answered.size() < expected.size()) {
    std::vector<zmq::message_t> frames;
    const auto received = zmq::recv_multipart(dealer, std::back_inserter(frames));
    REQUIRE(received.has_value());  // none: no reply within 10 s
    REQUIRE(frames.size() % 4 == 0);
    CHECK(frames.size() <= 4 * 64);  // max_entries_per_message replies at most
    for (std::size_t f = 0; f < frames.size(); f += 4) {
      CHECK(frames[f + 1].to_string() == "ok");
      answered.insert(frames[f].to_string());
    }
  }
  CHECK(answered == expected);
  CHECK(s.worker_running());
}

TEST_CASE("a start accepted with 202 that no worker decides in time is reported to the sockets",
          "[integration][worker-down]") {
  stack s(stack_options{}.api_args({"--accepted-start-ms", "1500"}));
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);

  // Hung: it still looks alive for a moment, so the start is accepted, and never answered.
  s.pause_worker();
  const auto r = start(http, user, start_args{}.session("lost").request("req-given-up").no_wait());
  INFO(r.describe());
  REQUIRE(r.status == 202);

  const auto notice = read_error_of(ws, "req-given-up", 20s);
  INFO(json::dump(notice));
  CHECK(json::str(notice["error"], "code") == "unavailable");
  // No longer in flight here: the client learns it must retry with the same requestId.
  CHECK(http.get("/api/v1/requests/req-given-up").status != 200);
  s.kill9_worker();
}
