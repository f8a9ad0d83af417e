#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "worker/stream_limiter.hpp"

namespace streamgate {
namespace {

using namespace std::chrono_literals;

// Both clocks of a moment `offset` into the test; the limiter never reads a clock itself.
instant at(std::chrono::milliseconds offset) {
  return {steady_time{} + 1h + offset, 1'700'000'000'000 + offset.count()};
}
std::int64_t wall(std::chrono::milliseconds offset) { return at(offset).wall_ms; }

// alice and bob on the default limit, carol limited to 1; two videos.
stream_limiter make_limiter(limiter_options options = {}) {
  stream_limiter limiter{options};
  limiter.load_user({"alice", "Alice Liddell", std::nullopt, std::nullopt});
  limiter.load_user({"bob", "Bob", std::nullopt, std::nullopt});
  limiter.load_user({"carol", "Carol", 1, std::nullopt});
  limiter.load_video({"v1", "Big Buck Bunny", 596});
  limiter.load_video({"v2", "Sintel", 888});
  return limiter;
}

start_request start_of(std::string user_id, std::string request_id, std::string session_id = "",
                       std::string video_id = "v1") {
  return {std::move(request_id), std::move(user_id), std::move(video_id), std::move(session_id)};
}

// The verdict of a start that must not fail.
verdict decide(stream_limiter& limiter, const start_request& r, instant now) {
  auto decided = limiter.start(r, now);
  REQUIRE(decided.has_value());
  return *decided->v;
}

std::string granted_id(const verdict& v) {
  REQUIRE(v.granted.has_value());
  return v.granted->stream_id;
}

std::vector<std::string> ids_of(const std::vector<stream>& streams) {
  std::vector<std::string> ids;
  for (const stream& s : streams) ids.push_back(s.stream_id);
  return ids;
}

// One line per change or event, so a whole batch compares in one CHECK.
std::string describe(const change& c) {
  struct visitor {
    std::string operator()(const stream_saved& x) const { return "stream_saved " + x.s.stream_id; }
    std::string operator()(const stream_removed& x) const {
      return "stream_removed " + x.stream_id;
    }
    std::string operator()(const verdict_saved& x) const {
      return "verdict_saved " + x.v->request_id;
    }
    std::string operator()(const verdict_forgotten& x) const {
      return "verdict_forgotten " + x.request_id;
    }
    std::string operator()(const user_saved& x) const { return "user_saved " + x.u.id; }
    std::string operator()(const video_saved& x) const { return "video_saved " + x.v.id; }
  };
  return std::visit(visitor{}, c);
}
std::string describe(const event& e) {
  if (const auto* v = std::get_if<shared_verdict>(&e.what))
    return "verdict " + (*v)->request_id + ((*v)->allowed ? " allowed" : " denied " + (*v)->reason);
  const auto& ended = std::get<ended_event>(e.what);
  return "ended " + ended.stream_id + " " + std::string(to_string(ended.reason));
}
template <class T>
std::vector<std::string> describe_all(const std::vector<T>& items) {
  std::vector<std::string> lines;
  for (const T& item : items) lines.push_back(describe(item));
  return lines;
}

}  // namespace

TEST_CASE("starts under the limit are allowed, each with a stream of its own", "[limiter]") {
  auto limiter = make_limiter();
  std::vector<std::string> started;
  for (int i = 1; i <= 3; ++i) {
    const verdict v = decide(limiter, start_of("alice", "r" + std::to_string(i)), at(1s * i));
    CAPTURE(i);
    CHECK(v.allowed);
    CHECK(v.active == i);
    CHECK(v.limit == 3);
    CHECK(v.reason.empty());
    CHECK(v.streams.empty());
    CHECK(v.decided_at_ms == wall(1s * i));
    REQUIRE(v.granted.has_value());
    CHECK(v.granted->stream_id.starts_with("s_"));
    CHECK(v.granted->user_id == "alice");
    CHECK(v.granted->video_id == "v1");
    CHECK(v.granted->started_at_ms == wall(1s * i));
    CHECK(v.granted->expires_at_ms == wall(1s * i + 90s));
    started.push_back(v.granted->stream_id);
  }
  CHECK(started[0] != started[1]);
  CHECK(started[1] != started[2]);
  CHECK(limiter.active_count("alice") == 3);
  CHECK(ids_of(limiter.streams_of("alice")) == started);
}

TEST_CASE("a fourth start for one user is denied with limit_reached and the three streams",
          "[limiter]") {
  auto limiter = make_limiter();
  std::vector<std::string> started;
  for (int i = 1; i <= 3; ++i)
    started.push_back(
        granted_id(decide(limiter, start_of("alice", "r" + std::to_string(i)), at(0s))));

  const verdict fourth = decide(limiter, start_of("alice", "r4", "", "v2"), at(1s));
  CHECK_FALSE(fourth.allowed);
  CHECK(fourth.reason == "limit_reached");
  CHECK(fourth.active == 3);
  CHECK(fourth.limit == 3);
  CHECK_FALSE(fourth.granted.has_value());
  CHECK(ids_of(fourth.streams) == started);
  CHECK(limiter.active_count("alice") == 3);

  SECTION("other users are unaffected") {
    const verdict other = decide(limiter, start_of("bob", "r5"), at(2s));
    CHECK(other.allowed);
    CHECK(other.active == 1);
    CHECK(limiter.active_count("bob") == 1);
    CHECK(limiter.active_count("alice") == 3);
  }
}

TEST_CASE("a start with a live sessionId returns that stream and takes no slot", "[limiter]") {
  auto limiter = make_limiter();
  const verdict first = decide(limiter, start_of("alice", "r1", "tv"), at(0s));
  (void)limiter.take_changes();

  SECTION("once more from the same device") {
    const verdict again = decide(limiter, start_of("alice", "r2", "tv"), at(10s));
    CHECK(again.allowed);
    CHECK(granted_id(again) == granted_id(first));
    CHECK(again.active == 1);
    CHECK(limiter.active_count("alice") == 1);
    // A reload is activity: the lease is renewed and saved.
    CHECK(again.granted->expires_at_ms == wall(100s));
    CHECK(describe_all(limiter.take_changes()) ==
          std::vector<std::string>{"stream_saved " + granted_id(first), "verdict_saved r2"});
  }
  SECTION("at the limit") {
    decide(limiter, start_of("alice", "r2", "phone"), at(1s));
    decide(limiter, start_of("alice", "r3", "laptop"), at(2s));
    const verdict again = decide(limiter, start_of("alice", "r4", "tv"), at(3s));
    CHECK(again.allowed);
    CHECK(granted_id(again) == granted_id(first));
    CHECK(again.active == 3);
  }
  SECTION("an empty sessionId never matches another start") {
    const verdict a = decide(limiter, start_of("alice", "r2"), at(1s));
    const verdict b = decide(limiter, start_of("alice", "r3"), at(2s));
    CHECK(granted_id(a) != granted_id(b));
    CHECK(limiter.active_count("alice") == 3);
  }
  SECTION("another user's session of the same name is not shared") {
    const verdict other = decide(limiter, start_of("bob", "r2", "tv"), at(1s));
    CHECK(granted_id(other) != granted_id(first));
  }
}

TEST_CASE("a replayed requestId gets the original verdict and decides nothing", "[limiter]") {
  auto limiter = make_limiter();
  const verdict original = decide(limiter, start_of("alice", "r1"), at(0s));
  (void)limiter.take_changes();
  (void)limiter.take_events();

  SECTION("from the same user") {
    // Even asking for another video: the id names a decision, not a request body.
    const auto replay = limiter.start(start_of("alice", "r1", "", "v2"), at(5s));
    REQUIRE(replay.has_value());
    CHECK(replay->replayed);
    CHECK(granted_id(*replay->v) == granted_id(original));
    CHECK(replay->v->video_id == "v1");
    CHECK(replay->v->decided_at_ms == original.decided_at_ms);
    CHECK(limiter.active_count("alice") == 1);
    CHECK(limiter.take_changes().empty());
    // Published again for a client that missed the first push.
    CHECK(describe_all(limiter.take_events()) == std::vector<std::string>{"verdict r1 allowed"});
  }
  SECTION("a denial replays as a denial even after a slot was freed") {
    decide(limiter, start_of("alice", "r2"), at(1s));
    decide(limiter, start_of("alice", "r3"), at(2s));
    const verdict denied = decide(limiter, start_of("alice", "r4"), at(3s));
    REQUIRE_FALSE(denied.allowed);
    REQUIRE(limiter.stop("alice", granted_id(original)).has_value());
    const auto replay = limiter.start(start_of("alice", "r4"), at(4s));
    REQUIRE(replay.has_value());
    CHECK(replay->replayed);
    CHECK_FALSE(replay->v->allowed);
    CHECK(replay->v->reason == "limit_reached");
    CHECK(limiter.active_count("alice") == 2);
  }
  SECTION("from another user is a conflict") {
    const auto stolen = limiter.start(start_of("bob", "r1"), at(5s));
    REQUIRE(stolen.has_error());
    CHECK(stolen.error().code == error_code::conflict);
    CHECK(limiter.active_count("bob") == 0);
    CHECK(limiter.take_changes().empty());
    CHECK(limiter.take_events().empty());
  }
}

TEST_CASE("a start for an unknown user is not_found and records nothing", "[limiter]") {
  auto limiter = make_limiter();
  const auto decided = limiter.start(start_of("mallory", "r1"), at(0s));
  REQUIRE(decided.has_error());
  CHECK(decided.error().code == error_code::not_found);
  CHECK(limiter.find_verdict("r1") == nullptr);
  CHECK(limiter.take_changes().empty());
  CHECK(limiter.take_events().empty());
}

TEST_CASE("a start for an unknown video is denied with unknown_video and remembered", "[limiter]") {
  auto limiter = make_limiter();
  const std::string running = granted_id(decide(limiter, start_of("alice", "r1"), at(0s)));
  (void)limiter.take_changes();
  (void)limiter.take_events();

  const verdict v = decide(limiter, start_of("alice", "r2", "", "nope"), at(1s));
  CHECK_FALSE(v.allowed);
  CHECK(v.reason == "unknown_video");
  CHECK(v.active == 1);
  CHECK(v.limit == 3);
  CHECK(ids_of(v.streams) == std::vector<std::string>{running});
  CHECK(limiter.active_count("alice") == 1);
  REQUIRE(limiter.find_verdict("r2") != nullptr);
  CHECK(limiter.find_verdict("r2")->reason == "unknown_video");
  CHECK(describe_all(limiter.take_changes()) == std::vector<std::string>{"verdict_saved r2"});
  CHECK(describe_all(limiter.take_events()) ==
        std::vector<std::string>{"verdict r2 denied unknown_video"});
}

TEST_CASE("stopping a stream frees its slot, and only its owner can stop it", "[limiter]") {
  auto limiter = make_limiter();
  std::vector<std::string> started;
  for (int i = 1; i <= 3; ++i)
    started.push_back(
        granted_id(decide(limiter, start_of("alice", "r" + std::to_string(i)), at(0s))));
  (void)limiter.take_changes();
  (void)limiter.take_events();

  SECTION("by its owner") {
    REQUIRE(limiter.stop("alice", started[1]).has_value());
    CHECK(limiter.active_count("alice") == 2);
    CHECK(describe_all(limiter.take_events()) ==
          std::vector<std::string>{"ended " + started[1] + " stopped"});
    CHECK(decide(limiter, start_of("alice", "r4"), at(1s)).allowed);
  }
  SECTION("twice") {
    REQUIRE(limiter.stop("alice", started[1]).has_value());
    const auto again = limiter.stop("alice", started[1]);
    REQUIRE(again.has_error());
    CHECK(again.error().code == error_code::not_found);
  }
  SECTION("by another user: not_found, as if it did not exist, and it keeps running") {
    const auto stolen = limiter.stop("bob", started[0]);
    REQUIRE(stolen.has_error());
    CHECK(stolen.error().code == error_code::not_found);
    CHECK(limiter.active_count("alice") == 3);
    CHECK(limiter.take_changes().empty());
    CHECK(limiter.take_events().empty());
  }
  SECTION("an unknown stream") {
    const auto unknown = limiter.stop("alice", "s_nope");
    REQUIRE(unknown.has_error());
    CHECK(unknown.error().code == error_code::not_found);
  }
}

TEST_CASE("stop_all ends every stream of the user with reason stop_all", "[limiter]") {
  auto limiter = make_limiter();
  std::vector<std::string> started;
  for (int i = 1; i <= 3; ++i)
    started.push_back(
        granted_id(decide(limiter, start_of("alice", "r" + std::to_string(i)), at(0s))));
  decide(limiter, start_of("bob", "r4"), at(0s));
  (void)limiter.take_changes();
  (void)limiter.take_events();

  SECTION("a user with streams") {
    const auto ended = limiter.stop_all("alice");
    REQUIRE(ended.has_value());
    CHECK(*ended == 3);
    CHECK(limiter.active_count("alice") == 0);
    CHECK(limiter.active_count("bob") == 1);
    CHECK(describe_all(limiter.take_events()) ==
          std::vector<std::string>{"ended " + started[0] + " stop_all",
                                   "ended " + started[1] + " stop_all",
                                   "ended " + started[2] + " stop_all"});
    CHECK(describe_all(limiter.take_changes()) ==
          std::vector<std::string>{"stream_removed " + started[0], "stream_removed " + started[1],
                                   "stream_removed " + started[2]});
  }
  SECTION("a user without streams") {
    const auto ended = limiter.stop_all("carol");
    REQUIRE(ended.has_value());
    CHECK(*ended == 0);
  }
  SECTION("an unknown user") {
    const auto ended = limiter.stop_all("mallory");
    REQUIRE(ended.has_error());
    CHECK(ended.error().code == error_code::not_found);
  }
}

TEST_CASE("a heartbeat extends the lease; a stream without one expires", "[limiter]") {
  auto limiter = make_limiter();  // lease 90 s
  const std::string kept = granted_id(decide(limiter, start_of("alice", "r1", "tv"), at(0s)));
  const std::string left = granted_id(decide(limiter, start_of("alice", "r2", "phone"), at(0s)));
  CHECK(limiter.next_deadline() == at(90s).mono);
  (void)limiter.take_changes();
  (void)limiter.take_events();

  const auto renewed = limiter.heartbeat("alice", kept, at(60s));
  REQUIRE(renewed.has_value());
  CHECK(*renewed == wall(150s));
  CHECK(describe_all(limiter.take_changes()) == std::vector<std::string>{"stream_saved " + kept});

  limiter.expire_due(at(89s));
  CHECK(limiter.active_count("alice") == 2);

  limiter.expire_due(at(90s));
  CHECK(ids_of(limiter.streams_of("alice")) == std::vector<std::string>{kept});
  CHECK(describe_all(limiter.take_events()) ==
        std::vector<std::string>{"ended " + left + " expired"});
  CHECK(describe_all(limiter.take_changes()) == std::vector<std::string>{"stream_removed " + left});

  SECTION("the renewed stream expires at its new deadline, not before") {
    limiter.expire_due(at(149s));
    CHECK(limiter.active_count("alice") == 1);
    limiter.expire_due(at(150s));
    CHECK(limiter.active_count("alice") == 0);
    CHECK(describe_all(limiter.take_events()) ==
          std::vector<std::string>{"ended " + kept + " expired"});
    CHECK_FALSE(limiter.next_deadline().has_value());
  }
  SECTION("an ended stream takes no heartbeat") {
    const auto late = limiter.heartbeat("alice", left, at(91s));
    REQUIRE(late.has_error());
    CHECK(late.error().code == error_code::not_found);
  }
  SECTION("another user's stream takes no heartbeat") {
    const auto stolen = limiter.heartbeat("bob", kept, at(91s));
    REQUIRE(stolen.has_error());
    CHECK(stolen.error().code == error_code::not_found);
    CHECK(limiter.take_changes().empty());
  }
}

TEST_CASE("a lapsed lease frees its slot even before expire_due runs", "[limiter]") {
  auto limiter = make_limiter();
  std::vector<std::string> started;
  for (int i = 1; i <= 3; ++i)
    started.push_back(
        granted_id(decide(limiter, start_of("alice", "r" + std::to_string(i)), at(0s))));
  (void)limiter.take_events();

  SECTION("a start") {
    const verdict v = decide(limiter, start_of("alice", "r4"), at(90s));
    CHECK(v.allowed);
    CHECK(v.active == 1);
    CHECK(describe_all(limiter.take_events()) ==
          std::vector<std::string>{"ended " + started[0] + " expired",
                                   "ended " + started[1] + " expired",
                                   "ended " + started[2] + " expired", "verdict r4 allowed"});
  }
  SECTION("a heartbeat") {
    const auto late = limiter.heartbeat("alice", started[0], at(90s));
    REQUIRE(late.has_error());
    CHECK(late.error().code == error_code::not_found);
    CHECK(limiter.active_count("alice") == 0);
    CHECK(limiter.take_events().size() == 3);
  }
  // The deadlines still queued find nothing left to end.
  limiter.expire_due(at(150s));
  CHECK(limiter.take_events().size() == 0);
}

TEST_CASE("a per-user maxStreams overrides the default limit", "[limiter]") {
  auto limiter = make_limiter();

  SECTION("a lower one") {
    CHECK(decide(limiter, start_of("carol", "r1"), at(0s)).allowed);
    const verdict second = decide(limiter, start_of("carol", "r2"), at(1s));
    CHECK_FALSE(second.allowed);
    CHECK(second.active == 1);
    CHECK(second.limit == 1);
  }
  SECTION("a raised one") {
    REQUIRE(limiter.patch_user({"carol", std::nullopt, 2, std::nullopt}).has_value());
    CHECK(decide(limiter, start_of("carol", "r1"), at(0s)).allowed);
    CHECK(decide(limiter, start_of("carol", "r2"), at(0s)).allowed);
    CHECK_FALSE(decide(limiter, start_of("carol", "r3"), at(0s)).allowed);
  }
  SECTION("lowering it keeps running streams but denies new ones") {
    std::vector<std::string> started;
    for (int i = 1; i <= 3; ++i)
      started.push_back(
          granted_id(decide(limiter, start_of("alice", "r" + std::to_string(i)), at(0s))));
    (void)limiter.take_events();

    const auto patched = limiter.patch_user({"alice", std::nullopt, 2, std::nullopt});
    REQUIRE(patched.has_value());
    CHECK(patched->max_streams == 2);
    CHECK(patched->name == "Alice Liddell");
    CHECK(limiter.active_count("alice") == 3);
    CHECK(limiter.take_events().empty());
    CHECK(describe_all(limiter.take_changes()).back() == "user_saved alice");

    const verdict denied = decide(limiter, start_of("alice", "r4"), at(1s));
    CHECK_FALSE(denied.allowed);
    CHECK(denied.active == 3);
    CHECK(denied.limit == 2);

    REQUIRE(limiter.stop("alice", started[0]).has_value());
    CHECK_FALSE(decide(limiter, start_of("alice", "r5"), at(2s)).allowed);
    REQUIRE(limiter.stop("alice", started[1]).has_value());
    CHECK(decide(limiter, start_of("alice", "r6"), at(3s)).allowed);
  }
  SECTION("of zero allows nothing") {
    REQUIRE(limiter.patch_user({"carol", std::nullopt, 0, policy::evict_oldest}).has_value());
    const verdict v = decide(limiter, start_of("carol", "r1"), at(0s));
    CHECK_FALSE(v.allowed);
    CHECK(v.reason == "limit_reached");
  }
}

TEST_CASE("evict_oldest ends the oldest stream and allows the new one in the same batch",
          "[limiter]") {
  // alice has evict_oldest from the global policy, dave from his own override.
  const std::string user_id = GENERATE(as<std::string>{}, "alice", "dave");
  CAPTURE(user_id);
  limiter_options options;
  if (user_id == "alice") options.default_policy = policy::evict_oldest;
  auto limiter = make_limiter(options);
  limiter.load_user({"dave", "Dave", std::nullopt, policy::evict_oldest});

  std::vector<std::string> started;
  for (int i = 1; i <= 3; ++i)
    started.push_back(
        granted_id(decide(limiter, start_of(user_id, "r" + std::to_string(i)), at(1s * i))));
  (void)limiter.take_changes();
  (void)limiter.take_events();

  const verdict v = decide(limiter, start_of(user_id, "r4"), at(10s));
  CHECK(v.allowed);
  CHECK(v.active == 3);
  const std::string added = granted_id(v);
  CHECK(ids_of(limiter.streams_of(user_id)) ==
        std::vector<std::string>{started[1], started[2], added});
  // One batch: the store commits the eviction and the new stream together.
  CHECK(describe_all(limiter.take_changes()) ==
        std::vector<std::string>{"stream_removed " + started[0], "stream_saved " + added,
                                 "verdict_saved r4"});
  CHECK(describe_all(limiter.take_events()) ==
        std::vector<std::string>{"ended " + started[0] + " evicted", "verdict r4 allowed"});

  SECTION("after the limit was lowered, as many as it takes") {
    REQUIRE(limiter.patch_user({user_id, std::nullopt, 1, std::nullopt}).has_value());
    const verdict after = decide(limiter, start_of(user_id, "r5"), at(11s));
    CHECK(after.allowed);
    CHECK(after.active == 1);
    CHECK(describe_all(limiter.take_events()) ==
          std::vector<std::string>{"ended " + started[1] + " evicted",
                                   "ended " + started[2] + " evicted",
                                   "ended " + added + " evicted", "verdict r5 allowed"});
  }
}

TEST_CASE("a user's deny override wins over a global evict_oldest", "[limiter]") {
  limiter_options options;
  options.default_policy = policy::evict_oldest;
  auto limiter = make_limiter(options);
  limiter.load_user({"erin", "Erin", 1, policy::deny});
  CHECK(decide(limiter, start_of("erin", "r1"), at(0s)).allowed);
  const verdict v = decide(limiter, start_of("erin", "r2"), at(1s));
  CHECK_FALSE(v.allowed);
  CHECK(v.reason == "limit_reached");
}

TEST_CASE("a loaded stream resumes with the lease time it had left", "[limiter]") {
  auto limiter = make_limiter();
  const auto loaded = [&](std::string id, std::chrono::milliseconds started,
                          std::chrono::milliseconds expires) {
    limiter.load_stream({std::move(id), "alice", "v1", "", wall(started), wall(expires)}, at(0s));
  };

  SECTION("still running") {
    loaded("s_a", -60s, 30s);
    CHECK(limiter.take_changes().empty());
    CHECK(limiter.active_count("alice") == 1);
    CHECK(limiter.next_deadline() == at(30s).mono);
    limiter.expire_due(at(29s));
    CHECK(limiter.active_count("alice") == 1);
    limiter.expire_due(at(30s));
    CHECK(limiter.active_count("alice") == 0);
    CHECK(describe_all(limiter.take_events()) == std::vector<std::string>{"ended s_a expired"});
  }
  SECTION("already past its lease") {
    loaded("s_a", -100s, -10s);
    limiter.expire_due(at(0s));
    CHECK(limiter.active_count("alice") == 0);
    CHECK(describe_all(limiter.take_events()) == std::vector<std::string>{"ended s_a expired"});
  }
  SECTION("in any order, kept oldest first and counted against the limit") {
    loaded("s_c", -10s, 80s);
    loaded("s_a", -30s, 60s);
    loaded("s_b", -20s, 70s);
    CHECK(ids_of(limiter.streams_of("alice")) == std::vector<std::string>{"s_a", "s_b", "s_c"});
    CHECK_FALSE(decide(limiter, start_of("alice", "r1"), at(0s)).allowed);
  }
}

TEST_CASE("a verdict is remembered for the memory window, then decided anew", "[limiter]") {
  limiter_options options;
  options.request_memory = 10min;
  auto limiter = make_limiter(options);
  const std::string first = granted_id(decide(limiter, start_of("alice", "r1"), at(0s)));
  (void)limiter.take_changes();

  const auto inside = limiter.start(start_of("alice", "r1"), at(9min));
  REQUIRE(inside.has_value());
  CHECK(inside->replayed);

  SECTION("forgotten by expire_due") {
    limiter.expire_due(at(10min - 1ms));
    CHECK(limiter.find_verdict("r1") != nullptr);
    limiter.expire_due(at(10min));
    CHECK(limiter.find_verdict("r1") == nullptr);
    CHECK(describe_all(limiter.take_changes()) ==
          std::vector<std::string>{"stream_removed " + first, "verdict_forgotten r1"});
    const auto after = limiter.start(start_of("alice", "r1"), at(10min));
    REQUIRE(after.has_value());
    CHECK_FALSE(after->replayed);
    CHECK(after->v->allowed);
    CHECK(granted_id(*after->v) != first);
    CHECK(after->v->decided_at_ms == wall(10min));
  }
  SECTION("past the window before expire_due ran: forgotten by the start itself") {
    CHECK(limiter.find_verdict("r1") != nullptr);
    const auto after = limiter.start(start_of("alice", "r1"), at(10min));
    REQUIRE(after.has_value());
    CHECK_FALSE(after->replayed);
    CHECK(describe_all(limiter.take_changes()) ==
          std::vector<std::string>{"verdict_forgotten r1", "stream_removed " + first,
                                   "stream_saved " + granted_id(*after->v), "verdict_saved r1"});
  }
  // The new decision is remembered for a window of its own.
  limiter.expire_due(at(19min));
  CHECK(limiter.find_verdict("r1") != nullptr);
}

TEST_CASE("a loaded verdict is forgotten when its window, counted from its decision, ends",
          "[limiter]") {
  limiter_options options;
  options.request_memory = 10min;
  auto limiter = make_limiter(options);
  verdict v;
  v.request_id = "r1";
  v.user_id = "alice";
  v.video_id = "v1";
  v.decided_at_ms = wall(-4min);
  limiter.load_verdict(v, at(0s));
  CHECK(limiter.take_changes().empty());

  const auto replay = limiter.start(start_of("alice", "r1"), at(1min));
  REQUIRE(replay.has_value());
  CHECK(replay->replayed);
  limiter.expire_due(at(6min - 1ms));
  CHECK(limiter.find_verdict("r1") != nullptr);
  limiter.expire_due(at(6min));
  CHECK(limiter.find_verdict("r1") == nullptr);
}

TEST_CASE("changes and events list a start, an eviction and a stop in decision order",
          "[limiter]") {
  limiter_options options;
  options.default_policy = policy::evict_oldest;
  auto limiter = make_limiter(options);

  const std::string first = granted_id(decide(limiter, start_of("carol", "r1"), at(0s)));
  const std::string second = granted_id(decide(limiter, start_of("carol", "r2"), at(1s)));
  REQUIRE(limiter.stop("carol", second).has_value());

  const auto changes = limiter.take_changes();
  CHECK(describe_all(changes) ==
        std::vector<std::string>{"stream_saved " + first, "verdict_saved r1",
                                 "stream_removed " + first, "stream_saved " + second,
                                 "verdict_saved r2", "stream_removed " + second});
  const auto& saved = std::get<stream_saved>(changes[0]).s;
  CHECK(saved.user_id == "carol");
  CHECK(saved.video_id == "v1");
  CHECK(saved.expires_at_ms == wall(90s));
  CHECK(std::get<verdict_saved>(changes[1]).v->granted->stream_id == first);

  const auto events = limiter.take_events();
  CHECK(describe_all(events) ==
        std::vector<std::string>{"verdict r1 allowed", "ended " + first + " evicted",
                                 "verdict r2 allowed", "ended " + second + " stopped"});
  CHECK(std::get<ended_event>(events[1].what).user_id == "carol");

  CHECK(limiter.take_changes().empty());
  CHECK(limiter.take_events().empty());
}

TEST_CASE("users are created with a given or a fresh id, and patched", "[limiter]") {
  auto limiter = make_limiter();

  SECTION("a given id") {
    const auto created = limiter.create_user({"frank", "Frank", 5, std::nullopt});
    REQUIRE(created.has_value());
    CHECK(created->id == "frank");
    REQUIRE(limiter.find_user("frank") != nullptr);
    CHECK(limiter.limit_of(*limiter.find_user("frank")) == 5);
    CHECK(describe_all(limiter.take_changes()) == std::vector<std::string>{"user_saved frank"});
  }
  SECTION("a taken id is a conflict") {
    const auto taken = limiter.create_user({"alice", "Other Alice", std::nullopt, std::nullopt});
    REQUIRE(taken.has_error());
    CHECK(taken.error().code == error_code::conflict);
    CHECK(limiter.find_user("alice")->name == "Alice Liddell");
  }
  SECTION("a fresh id") {
    const auto created = limiter.create_user({std::nullopt, "Grace", std::nullopt, std::nullopt});
    REQUIRE(created.has_value());
    CHECK(created->id.starts_with("u_"));
    CHECK(limiter.find_user(created->id) != nullptr);
    CHECK(limiter.policy_of(*created) == policy::deny);
  }
  SECTION("patching an unknown user is not_found") {
    const auto patched = limiter.patch_user({"mallory", "M", std::nullopt, std::nullopt});
    REQUIRE(patched.has_error());
    CHECK(patched.error().code == error_code::not_found);
  }
}

TEST_CASE("users match a case-insensitive part of their name, sorted by id", "[limiter]") {
  auto limiter = make_limiter();
  limiter.load_user({"aaron", "AL", std::nullopt, std::nullopt});
  const auto ids = [&](std::string_view filter) {
    std::vector<std::string> found;
    for (const user* u : limiter.users_matching(filter)) found.push_back(u->id);
    return found;
  };
  CHECK(ids("al") == std::vector<std::string>{"aaron", "alice"});
  CHECK(ids("LIDDELL") == std::vector<std::string>{"alice"});
  CHECK(ids("zzz").empty());
  CHECK(ids("") == std::vector<std::string>{"aaron", "alice", "bob", "carol"});
}

TEST_CASE("each user's events are numbered 1, 2, 3 in decision order", "[limiter]") {
  stream_limiter limiter = make_limiter();
  CHECK(limiter.last_seq("alice") == 0);

  const verdict first = decide(limiter, start_of("alice", "r1"), at(0s));
  static_cast<void>(decide(limiter, start_of("bob", "r2"), at(0s)));
  REQUIRE(limiter.stop("alice", granted_id(first)).has_value());
  static_cast<void>(limiter.start(start_of("alice", "r1"), at(1s)));  // a replay: published again

  std::vector<std::pair<std::string, std::uint64_t>> numbered;
  for (const event& e : limiter.take_events()) {
    const auto* v = std::get_if<shared_verdict>(&e.what);
    numbered.emplace_back(v ? (*v)->user_id : std::get<ended_event>(e.what).user_id, e.seq);
  }
  CHECK(numbered == std::vector<std::pair<std::string, std::uint64_t>>{
                        {"alice", 1}, {"bob", 1}, {"alice", 2}, {"alice", 3}});
  CHECK(limiter.last_seq("alice") == 3);
  CHECK(limiter.last_seq("bob") == 1);
}

TEST_CASE("the live stream total follows every start and every end", "[limiter][metrics]") {
  limiter_options options;
  options.default_policy = policy::evict_oldest;
  auto limiter = make_limiter(options);  // lease 90 s
  limiter.load_stream({"s_loaded", "bob", "v1", "", wall(-10s), wall(30s)}, at(0s));
  CHECK(limiter.active_total() == 1);

  std::vector<std::string> alice;
  for (int i = 1; i <= 3; ++i)
    alice.push_back(
        granted_id(decide(limiter, start_of("alice", "r" + std::to_string(i)), at(0s))));
  CHECK(limiter.active_total() == 4);
  // A session's second start and a replay take no slot; a denial takes none either.
  decide(limiter, start_of("carol", "r4", "tv"), at(0s));
  decide(limiter, start_of("carol", "r5", "tv"), at(0s));
  decide(limiter, start_of("carol", "r4", "tv"), at(0s));
  decide(limiter, start_of("alice", "r6", "", "nope"), at(0s));
  CHECK(limiter.active_total() == 5);
  // An eviction ends one and starts one.
  decide(limiter, start_of("alice", "r7"), at(1s));
  CHECK(limiter.active_total() == 5);

  REQUIRE(limiter.stop("alice", alice[1]).has_value());
  CHECK(limiter.active_total() == 4);
  REQUIRE(limiter.stop_all("carol").has_value());
  CHECK(limiter.active_total() == 3);
  limiter.expire_due(at(30s));  // bob's loaded stream
  CHECK(limiter.active_total() == 2);
  limiter.expire_due(at(91s));
  CHECK(limiter.active_total() == 0);
}

}  // namespace streamgate
