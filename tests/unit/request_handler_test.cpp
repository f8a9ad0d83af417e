#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <tuple>

#include "common/codec.hpp"
#include "worker/request_handler.hpp"
#include "worker/stream_limiter.hpp"

namespace streamgate {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

// A limiter with the demo defaults (3 streams, 90 s leases, deny), two users and one video, and
// one start of alice already decided at t0.
struct handler_fixture {
  handler_fixture() {
    limiter.load_user({"alice", "Alice Martin", std::nullopt, std::nullopt});
    limiter.load_user({"dave", "Dave Lindqvist", 1, std::nullopt});
    limiter.load_video({"v01", "Northbound", 7320});
    const reply first = handler.handle(start("r_1", "alice", "phone"), limiter, t0);
    REQUIRE(first.status == outcome::allowed);
    stream_id = limiter.find_verdict("r_1")->granted->stream_id;
    static_cast<void>(limiter.take_changes());
    static_cast<void>(limiter.take_events());
  }

  static request_body start(std::string request_id, std::string user_id, std::string session) {
    return start_request{std::move(request_id), std::move(user_id), "v01", std::move(session)};
  }

  const instant t0{steady_time{} + 1h, 1'700'000'000'000};
  const instant t1{t0.mono + 10s, t0.wall_ms + 10'000};
  stream_limiter limiter{limiter_options{}};
  request_handler handler;
  std::string stream_id;
};

std::string error_code_field(error_code code) {
  return R"("code":")" + std::string(to_string(code)) + '"';
}

}  // namespace

TEST_CASE_METHOD(handler_fixture, "an allowed start answers allowed with the verdict body",
                 "[handler]") {
  const reply r = handler.handle(start("r_2", "alice", "tablet"), limiter, t1);
  CHECK(r.status == outcome::allowed);
  REQUIRE(limiter.find_verdict("r_2"));
  CHECK(r.body == encode_verdict_body(*limiter.find_verdict("r_2")));
}

TEST_CASE_METHOD(handler_fixture, "a start over the limit answers denied with the verdict body",
                 "[handler]") {
  REQUIRE(handler.handle(start("r_2", "dave", "phone"), limiter, t1).status == outcome::allowed);
  const reply r = handler.handle(start("r_3", "dave", "tablet"), limiter, t1);
  CHECK(r.status == outcome::denied);
  CHECK(r.body == encode_verdict_body(*limiter.find_verdict("r_3")));
  CHECK_THAT(r.body, Contains("limit_reached"));
}

TEST_CASE_METHOD(handler_fixture, "a replayed requestId answers the original verdict",
                 "[handler]") {
  const reply r = handler.handle(start("r_1", "alice", "phone"), limiter, t1);
  CHECK(r.status == outcome::allowed);
  CHECK(r.body == encode_verdict_body(*limiter.find_verdict("r_1")));
}

TEST_CASE_METHOD(handler_fixture,
                 "a start with an unknown video is not_found, also when replayed", "[handler]") {
  const request_body unknown_video = start_request{"r_2", "alice", "v99", "phone"};
  const reply r = handler.handle(unknown_video, limiter, t1);
  CHECK(r.status == outcome::not_found);
  CHECK_THAT(r.body, Contains(error_code_field(error_code::not_found)) && Contains("v99"));
  // The limiter remembers it as a denial, so a retry of the requestId answers the same.
  REQUIRE(limiter.find_verdict("r_2"));
  CHECK(limiter.find_verdict("r_2")->reason == "unknown_video");
  CHECK(handler.handle(unknown_video, limiter, t1).status == outcome::not_found);
}

TEST_CASE_METHOD(handler_fixture, "a requestId of another user is a conflict", "[handler]") {
  const reply r = handler.handle(start("r_1", "dave", "phone"), limiter, t1);
  CHECK(r.status == outcome::conflict);
  CHECK_THAT(r.body, Contains(error_code_field(error_code::conflict)));
}

TEST_CASE_METHOD(handler_fixture, "a heartbeat answers the new expiry", "[handler]") {
  const reply r = handler.handle(heartbeat_request{"alice", stream_id}, limiter, t1);
  CHECK(r.status == outcome::ok);
  CHECK(r.body == encode_heartbeat_body(t1.wall_ms + 90'000));
}

TEST_CASE_METHOD(handler_fixture, "stop and stop_all answer no content with an empty body",
                 "[handler]") {
  SECTION("stop") {
    const reply r = handler.handle(stop_request{"alice", stream_id}, limiter, t1);
    CHECK(r.status == outcome::no_content);
    CHECK(r.body.empty());
    CHECK(handler.handle(stop_request{"alice", stream_id}, limiter, t1).status ==
          outcome::not_found);
  }
  SECTION("stop_all") {
    const reply r = handler.handle(stop_all_request{"alice"}, limiter, t1);
    CHECK(r.status == outcome::no_content);
    CHECK(r.body.empty());
    CHECK(limiter.active_count("alice") == 0);
  }
}

TEST_CASE_METHOD(handler_fixture, "user reads answer the user with limit, policy and count",
                 "[handler]") {
  const user& alice = *limiter.find_user("alice");
  const user& dave = *limiter.find_user("dave");
  SECTION("get_user") {
    const reply r = handler.handle(get_user_request{"alice"}, limiter, t1);
    CHECK(r.status == outcome::ok);
    CHECK(r.body == encode_user(alice, 3, policy::deny, 1));
  }
  SECTION("list_users with a filter") {
    const reply r = handler.handle(list_users_request{"LIND"}, limiter, t1);
    CHECK(r.status == outcome::ok);
    CHECK(r.body == encode_users({{&dave, 1, policy::deny, 0}}));
  }
  SECTION("list_users without a filter, by id") {
    const reply r = handler.handle(list_users_request{}, limiter, t1);
    CHECK(r.status == outcome::ok);
    CHECK(r.body ==
          encode_users({{&alice, 3, policy::deny, 1}, {&dave, 1, policy::deny, 0}}));
  }
}

TEST_CASE_METHOD(handler_fixture, "create_user answers created, or conflict for a taken id",
                 "[handler]") {
  const reply r = handler.handle(
      create_user_request{"erin", "Erin Castillo", 5, policy::evict_oldest}, limiter, t1);
  CHECK(r.status == outcome::created);
  REQUIRE(limiter.find_user("erin"));
  CHECK(r.body == encode_user(*limiter.find_user("erin"), 5, policy::evict_oldest, 0));

  const reply again = handler.handle(
      create_user_request{"erin", "Erin Again", std::nullopt, std::nullopt}, limiter, t1);
  CHECK(again.status == outcome::conflict);
  CHECK_THAT(again.body, Contains(error_code_field(error_code::conflict)));
}

TEST_CASE_METHOD(handler_fixture, "patch_user answers the patched user", "[handler]") {
  const reply r = handler.handle(
      patch_user_request{"alice", "Alice M.", 2, std::nullopt}, limiter, t1);
  CHECK(r.status == outcome::ok);
  CHECK(r.body == encode_user(*limiter.find_user("alice"), 2, policy::deny, 1));
}

TEST_CASE_METHOD(handler_fixture, "stream reads answer the user's live streams", "[handler]") {
  const auto streams = limiter.streams_of("alice");
  REQUIRE(streams.size() == 1);
  SECTION("list_streams") {
    const reply r = handler.handle(list_streams_request{"alice"}, limiter, t1);
    CHECK(r.status == outcome::ok);
    CHECK(r.body == encode_streams(streams));
  }
  SECTION("snapshot") {
    const reply r = handler.handle(snapshot_request{"alice"}, limiter, t1);
    CHECK(r.status == outcome::ok);
    CHECK(r.body == encode_snapshot("alice", streams, 3, limiter.epoch(), limiter.last_seq("alice")));
    CHECK(limiter.last_seq("alice") > 0);
  }
  SECTION("a user without streams has an empty list") {
    const reply r = handler.handle(list_streams_request{"dave"}, limiter, t1);
    CHECK(r.status == outcome::ok);
    CHECK(r.body == encode_streams({}));
  }
}

TEST_CASE_METHOD(handler_fixture, "video and request reads answer what is known", "[handler]") {
  SECTION("list_videos") {
    const reply r = handler.handle(list_videos_request{}, limiter, t1);
    CHECK(r.status == outcome::ok);
    CHECK(r.body == encode_videos(limiter.videos()));
  }
  SECTION("get_video") {
    const reply r = handler.handle(get_video_request{"v01"}, limiter, t1);
    CHECK(r.status == outcome::ok);
    CHECK(r.body == encode_video(*limiter.find_video("v01")));
  }
  SECTION("get_request") {
    const reply r = handler.handle(get_request_request{"r_1"}, limiter, t1);
    CHECK(r.status == outcome::ok);
    CHECK(r.body == encode_verdict_body(*limiter.find_verdict("r_1")));
  }
  SECTION("ping") {
    const reply r = handler.handle(ping_request{}, limiter, t1);
    CHECK(r.status == outcome::ok);
    CHECK(r.body == "{}");
  }
}

TEST_CASE_METHOD(handler_fixture, "what does not exist answers not_found with an error body",
                 "[handler]") {
  const auto [op, body] = GENERATE(table<std::string, request_body>({
      {"start of an unknown user", start("r_9", "zoe", "phone")},
      {"heartbeat of an unknown stream", heartbeat_request{"alice", "s_none"}},
      {"stop of an unknown stream", stop_request{"alice", "s_none"}},
      {"stop_all of an unknown user", stop_all_request{"zoe"}},
      {"get_user", get_user_request{"zoe"}},
      {"patch_user", patch_user_request{"zoe", "Zoe", std::nullopt, std::nullopt}},
      {"list_streams", list_streams_request{"zoe"}},
      {"snapshot", snapshot_request{"zoe"}},
      {"get_video", get_video_request{"v99"}},
      {"get_request", get_request_request{"r_none"}},
  }));
  CAPTURE(op);
  const reply r = handler.handle(body, limiter, t1);
  CHECK(r.status == outcome::not_found);
  CHECK_THAT(r.body, Contains(error_code_field(error_code::not_found)));
}

TEST_CASE_METHOD(handler_fixture, "another user's stream is not found for heartbeat or stop",
                 "[handler]") {
  CHECK(handler.handle(heartbeat_request{"dave", stream_id}, limiter, t1).status ==
        outcome::not_found);
  CHECK(handler.handle(stop_request{"dave", stream_id}, limiter, t1).status ==
        outcome::not_found);
  CHECK(limiter.active_count("alice") == 1);
}

namespace {
struct fake_audit final : audit_reader {
  std::vector<audit_entry> recent_audit(const std::string& user_id, int limit) const override {
    asked_user = user_id;
    asked_limit = limit;
    return {audit_entry{user_id, 1'700'000'000'000, "denied", "", "r_9", "v01", "limit_reached"},
            audit_entry{user_id, 1'699'999'999'000, "allowed", "s_1", "r_8", "v01", ""}};
  }
  mutable std::string asked_user;
  mutable int asked_limit = 0;
};
}  // namespace

TEST_CASE_METHOD(handler_fixture, "list_events answers the user's audit trail as is",
                 "[handler][audit]") {
  const fake_audit audit;
  SECTION("a known user") {
    const reply r = handler.handle(list_events_request{"alice", 7}, limiter, t1, &audit);
    CHECK(r.status == outcome::ok);
    CHECK(audit.asked_user == "alice");
    CHECK(audit.asked_limit == 7);
    CHECK(r.body ==
          R"([{"at":"2023-11-14T22:13:20.000Z","type":"denied","requestId":"r_9","videoId":"v01","reason":"limit_reached"},)"
          R"({"at":"2023-11-14T22:13:19.000Z","type":"allowed","streamId":"s_1","requestId":"r_8","videoId":"v01"}])");
  }
  SECTION("an unknown user is not found") {
    const reply r = handler.handle(list_events_request{"nobody", 7}, limiter, t1, &audit);
    CHECK(r.status == outcome::not_found);
    CHECK(audit.asked_user.empty());
  }
}

}  // namespace streamgate
