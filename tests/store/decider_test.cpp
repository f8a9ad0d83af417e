// The worker's decider on every store (SQLite, a redis-server, a 3-master Redis Cluster): what it
// answers and publishes after a commit, deletions, leases, tokens, pages and its bounded cache.
// Two workers on one store: decider_conflict_test.cpp.

#include "worker/server/decider.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/wire/worker_codec.hpp"
#include "common/worker_replies.hpp"
#include "decider_support.hpp"
#include "wait.hpp"
#include "worker/seed.hpp"
#include "worker/store/redis/redis_store.hpp"

namespace streamgate {
namespace {

// The events of the first expiry pass that ends something: the lease index names a user once
// one of its leases is due.
std::vector<published_event> first_expiry_pass(decider& d) {
  std::vector<published_event> ended;
  REQUIRE(it::wait_until(
      [&] {
        ended = decide(d, {}, d.due_users()).events;
        return !ended.empty();
      },
      std::chrono::seconds(20)));
  return ended;
}

}  // namespace

TEST_CASE("a request its api gave up on before it was decided is refused, and nothing of it kept",
          "[store][decider]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  seeded_worker w(kind, test_rules(), {}, [] { return std::int64_t{5'000}; });
  // Deadlines in wall-clock ms against the worker's 5,000: one ahead, one past, one without.
  const batch_result r = decide(
      w.d, {start_of("alice", "r1", "tv"), start_of("alice", "r2", "phone"), start_of("bob", "r3")},
      {}, {6'000, 4'000, 0});
  CHECK(r.replies[0].status == outcome::allowed);
  CHECK(r.replies[1].status == outcome::unavailable);
  CHECK(r.replies[2].status == outcome::allowed);
  CHECK(r.events.size() == 2);
  CHECK(live_streams(w.d, "alice").size() == 1);
  // Not remembered either: a retry of r2 is decided afresh.
  CHECK(decide(w.d, {get_request_request{"r2", std::nullopt}}).replies[0].status ==
        outcome::not_found);
}

TEST_CASE("a start is answered and published once committed, with the user's next seq",
          "[store][decider]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  seed(*s);
  decider d(*s, test_rules());

  const batch_result first = decide(d, {start_of("alice", "r1", "tv")});
  REQUIRE(first.replies.size() == 1);
  CHECK(first.replies[0].status == outcome::allowed);
  REQUIRE(first.events.size() == 1);
  CHECK(first.events[0].topic == "alice");
  CHECK(first.events[0].sequence == s->dataset_id() + " 1");
  REQUIRE(std::holds_alternative<verdict>(first.events[0].body));
  CHECK(std::get<verdict>(first.events[0].body).allowed);

  SECTION("the audit trail and the stream list show it in the same batch's answers") {
    const batch_result after =
        decide(d, {list_streams_request{"alice"}, list_events_request{"alice", 10}});
    const auto* streams = std::get_if<std::vector<stream>>(&after.replies[0].body);
    REQUIRE(streams);
    CHECK(std::any_of(streams->begin(), streams->end(),
                      [](const stream& st) { return st.session_id == "tv"; }));
    const auto* audit = std::get_if<std::vector<audit_entry>>(&after.replies[1].body);
    REQUIRE(audit);
    CHECK(std::any_of(audit->begin(), audit->end(),
                      [](const audit_entry& e) { return e.request_id == "r1"; }));
  }
  SECTION("a replay of the requestId names the same stream and takes no slot") {
    const batch_result again = decide(d, {start_of("alice", "r1", "tv")});
    CHECK(again.replies[0].body == first.replies[0].body);
    const batch_result listed = decide(d, {get_user_request{"alice"}});
    REQUIRE(std::holds_alternative<user_view>(listed.replies[0].body));
    CHECK(std::get<user_view>(listed.replies[0].body).active == 1);
  }
  SECTION("GET /requests/{id} finds it through the store's request index") {
    const batch_result found = decide(d, {get_request_request{"r1", std::nullopt}});
    CHECK(found.replies[0].status == outcome::ok);
    const batch_result other = decide(d, {get_request_request{"r1", std::string("bob")}});
    CHECK(other.replies[0].status == outcome::not_found);
  }
  SECTION("a new worker on the same store sees the stream and continues the seq") {
    if (ts.sqlite()) s.reset();  // the file has one writer at a time
    auto again = ts.open();
    decider d2(*again, test_rules());
    const batch_result stopped = decide(d2, {stop_all_request{"alice"}});
    CHECK(stopped.replies[0].status == outcome::no_content);
    REQUIRE(stopped.events.size() == 1);
    CHECK(stopped.events[0].sequence == again->dataset_id() + " 2");
  }
}

TEST_CASE("unknown users, existing users and bad plans get their errors on every store",
          "[store][decider]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  seeded_worker w(kind, test_rules());
  decider& d = w.d;
  create_user_request dup{"alice", "Alice again", std::nullopt, std::nullopt, std::nullopt,
                          std::nullopt};
  create_user_request bad_plan{"zed", "Zed", std::nullopt, std::nullopt, std::nullopt,
                               std::string("platinum")};
  create_user_request fresh{"yan", "Yan", std::nullopt, std::nullopt, std::nullopt,
                            std::string("basic")};
  const batch_result r =
      decide(d, {start_of("nobody", "r1"), dup, bad_plan, fresh, start_of("yan", "r2"),
                 start_of("yan", "r3")});
  CHECK(r.replies[0].status == outcome::not_found);
  CHECK(r.replies[1].status == outcome::conflict);
  CHECK(r.replies[2].status == outcome::bad_request);
  CHECK(r.replies[3].status == outcome::created);
  // Created and decided in one batch: the basic plan allows one stream.
  CHECK(r.replies[4].status == outcome::allowed);
  CHECK(r.replies[5].status == outcome::denied);
}

TEST_CASE("the worker counts evictions, over-limit starts and replays where it decides them",
          "[store][decider]") {
  // These counters are what /metrics shows as streamgate_worker_decisions_total{outcome=...}.
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  seeded_worker w(kind, test_rules());
  decider& d = w.d;
  const batch_result created = decide(
      d, {create_user_request{"ev", "Evicts", 1, policy::evict_oldest, std::nullopt, std::nullopt},
          create_user_request{"mon", "Monitored", 1, policy::monitor, std::nullopt, std::nullopt}});
  REQUIRE(created.replies[0].status == outcome::created);
  REQUIRE(created.replies[1].status == outcome::created);
  const decision_counters before = d.counters();

  const batch_result r =
      decide(d, {start_of("ev", "r-ev-1", "tv"), start_of("ev", "r-ev-2", "phone"),
                 start_of("mon", "r-mon-1", "tv"), start_of("mon", "r-mon-2", "phone")});
  for (const reply& answer : r.replies) CHECK(answer.status == outcome::allowed);
  CHECK(decide(d, {start_of("ev", "r-ev-2", "phone")}).replies[0].status == outcome::allowed);

  const decision_counters after = d.counters();
  CHECK(after.allowed - before.allowed == 4);
  CHECK(after.evicted - before.evicted == 1);
  CHECK(after.over_limit - before.over_limit == 1);
  CHECK(after.replayed - before.replayed == 1);
  CHECK(after.denied == before.denied);
}

TEST_CASE("a deleted user is gone for the rest of its batch and for the batches after it",
          "[store][decider]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  seeded_worker w(kind, test_rules());
  decider& d = w.d;
  REQUIRE(decide(d, {start_of("alice", "r1", "tv")}).replies[0].status == outcome::allowed);

  // A start behind the delete in one batch is not granted a stream that the delete then drops.
  const batch_result r = decide(d, {delete_user_request{"alice"}, start_of("alice", "r2", "phone"),
                                    create_user_request{"alice", "Alice", std::nullopt,
                                                        std::nullopt, std::nullopt, std::nullopt}});
  CHECK(r.replies[0].status == outcome::no_content);
  CHECK(r.replies[1].status == outcome::not_found);
  CHECK(r.replies[2].status == outcome::unavailable);  // "being deleted; retry"
  CHECK(std::none_of(r.events.begin(), r.events.end(), [](const published_event& e) {
    return std::holds_alternative<verdict>(e.body);
  }));

  // Nor is it served afterwards from what the worker held of it.
  CHECK(decide(d, {get_user_request{"alice"}}).replies[0].status == outcome::not_found);
  CHECK(decide(d, {start_of("alice", "r3", "tablet")}).replies[0].status == outcome::not_found);
}

TEST_CASE("a lease that runs out is ended by whichever worker finds it due, once",
          "[store][decider][lease]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  seeded_worker w(kind, test_rules(/*lease_seconds=*/1));
  decider& d = w.d;
  REQUIRE(decide(d, {start_of("alice", "r1")}).replies[0].status == outcome::allowed);

  // The lease index names alice once her lease is due; the ended event follows the verdict.
  const std::vector<published_event> ended = first_expiry_pass(d);
  REQUIRE(ended.size() == 1);
  REQUIRE(std::holds_alternative<ended_event>(ended[0].body));
  CHECK(std::get<ended_event>(ended[0].body).reason == end_reason::expired);
  CHECK(ended[0].sequence == w.s->dataset_id() + " 2");
  CHECK(d.counters().expired == 1);
  // Asked again, it finds nothing more to end.
  CHECK(decide(d, {}, {"alice"}).events.empty());
}

TEST_CASE("a lease of a worker that went away is ended by the next one, which never saw it",
          "[store][decider][lease]") {
  // The next worker knows the user only through the store's lease index: each commit must write
  // the lease it changed there, not only into the deciding worker's memory.
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  std::string stream_id;
  {
    auto s = ts.open();
    seed(*s);
    decider gone(*s, test_rules(/*lease_seconds=*/1));
    const batch_result started = decide(gone, {start_of("alice", "r1", "tv")});
    REQUIRE(started.replies[0].status == outcome::allowed);
    stream_id = std::get<verdict>(started.replies[0].body).granted->stream_id;
  }
  auto s = ts.open();
  decider next(*s, test_rules(/*lease_seconds=*/1));
  const std::vector<published_event> ended = first_expiry_pass(next);
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].topic == "alice");
  CHECK(std::get<ended_event>(ended[0].body).stream_id == stream_id);
  CHECK(std::get<ended_event>(ended[0].body).reason == end_reason::expired);
}

TEST_CASE("a later start leaves the user due at the earliest lease, which ends alone",
          "[store][decider][lease]") {
  // The lease index keeps the earliest of the user's leases, also when a decision only added a
  // stream with a later one: the first stream ends on time, while the second still plays.
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  seeded_worker w(kind, test_rules(/*lease_seconds=*/2));
  decider& d = w.d;
  const batch_result first = decide(d, {start_of("alice", "r1", "tv")});
  REQUIRE(first.replies[0].status == outcome::allowed);
  const std::int64_t first_expiry = std::get<verdict>(first.replies[0].body).granted->expires_at_ms;
  // The second start once the store's clock passed a second: its lease ends a second later.
  REQUIRE(it::wait_until([&] { return w.s->load({}).now_ms >= first_expiry - 1'000; },
                         std::chrono::seconds(20)));
  const batch_result second = decide(d, {start_of("alice", "r2", "phone")});
  REQUIRE(second.replies[0].status == outcome::allowed);
  const std::string second_stream = std::get<verdict>(second.replies[0].body).granted->stream_id;

  const std::vector<published_event> ended = first_expiry_pass(d);
  REQUIRE(ended.size() == 1);
  CHECK(std::get<ended_event>(ended[0].body).stream_id ==
        std::get<verdict>(first.replies[0].body).granted->stream_id);
  const std::vector<stream> left = live_streams(d, "alice");
  REQUIRE(left.size() == 1);
  CHECK(left.front().stream_id == second_stream);
}

TEST_CASE("a lease renewed again and again is one entry of the worker's expiry heap, and ends once",
          "[store][decider][lease]") {
  // On a shared store the worker keeps its own heap of lease expiries beside the store's index.
  // A renewal must not add an entry: one per decision for a lease's length grew a Redis worker
  // by 60 MB in a three-minute soak. The renewed lease still ends, once, and not before its time.
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  seeded_worker w(kind, test_rules(/*lease_seconds=*/1));
  decider& d = w.d;
  const batch_result started = decide(d, {start_of("alice", "r1", "tv")});
  REQUIRE(started.replies[0].status == outcome::allowed);
  const std::string stream_id = std::get<verdict>(started.replies[0].body).granted->stream_id;
  std::int64_t expires_at_ms = 0;
  for (int k = 0; k < 100; ++k) {
    const batch_result renewed = decide(d, {heartbeat_request{"alice", stream_id}});
    REQUIRE(renewed.replies[0].status == outcome::ok);
    expires_at_ms = std::get<lease>(renewed.replies[0].body).expires_at_ms;
  }
  // None on SQLite: its one writer's own lease index is exact, and in memory.
  CHECK(d.queued_expiries() <= 1);

  const std::vector<published_event> ended = first_expiry_pass(d);
  REQUIRE(ended.size() == 1);
  CHECK(std::get<ended_event>(ended[0].body).stream_id == stream_id);
  CHECK(w.s->load({}).now_ms >= expires_at_ms);
  CHECK(decide(d, {}, d.due_users()).events.empty());
  CHECK(d.queued_expiries() == 0);
}

TEST_CASE("the worker confirms a token only against the user's stored hash, and never shows it",
          "[store][decider][auth]") {
  test_store ts("sqlite");
  auto s = ts.open();
  seed(*s);
  decider d(*s, test_rules());
  const std::string hash(64, 'c');
  create_user_request carol{"carol2", "Carol", std::nullopt, std::nullopt, hash, std::nullopt};
  REQUIRE(decide(d, {carol}).replies[0].status == outcome::created);
  const auto check = [&](std::string user, std::string token_hash) {
    return decide(d, {authenticate_request{std::move(user), std::move(token_hash)}})
        .replies[0]
        .status;
  };
  CHECK(check("carol2", hash) == outcome::ok);
  CHECK(check("carol2", std::string(64, 'd')) == outcome::forbidden);
  CHECK(check("alice", hash) == outcome::forbidden);  // the catalog's users have no token
  CHECK(check("nobody", hash) == outcome::not_found);
  // What leaves the worker is the reply's wire frame (common/wire/worker_codec): no hash in it.
  const reply shown = decide(d, {get_user_request{"carol2"}}).replies[0];
  REQUIRE(std::holds_alternative<user_view>(shown.body));
  const std::string frame = encode_reply_body(shown.body);
  CHECK(frame.find(hash) == std::string::npos);
  const auto received = decode_reply_body(frame);
  REQUIRE(received);
  REQUIRE(std::holds_alternative<user_view>(*received));
  CHECK(std::get<user_view>(*received).u.id == "carol2");
  CHECK(std::get<user_view>(*received).u.token_hash.empty());
  // A patch keeps it.
  patch_user_request rename{"carol2", "Caroline", std::nullopt, std::nullopt, std::nullopt};
  REQUIRE(decide(d, {rename}).replies[0].status == outcome::ok);
  CHECK(check("carol2", hash) == outcome::ok);
}

TEST_CASE("a page of users holds the next matches after the cursor, across load chunks",
          "[store][decider][paging]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  seed(*s);  // the demo users' ids all sort before "u"
  decider d(*s, test_rules());
  // 1,205 users, every hundredth named "Needle": more than one chunk of 1,000 to load.
  std::vector<request_body> creates;
  for (int i = 0; i < 1205; ++i) {
    const std::string digits = std::to_string(i);
    const std::string id = "u" + std::string(4 - digits.size(), '0') + digits;
    creates.push_back(create_user_request{id, i % 100 == 0 ? "Needle " + std::to_string(i) : "Hay",
                                          std::nullopt, std::nullopt});
  }
  for (const reply& r : decide(d, creates).replies) REQUIRE(r.status == outcome::created);
  const auto ids_of = [&](list_users_request page) {
    const batch_result r = decide(d, {page});
    REQUIRE(r.replies[0].status == outcome::ok);
    std::vector<std::string> ids;
    const auto* users = std::get_if<std::vector<user_view>>(&r.replies[0].body);
    REQUIRE(users);
    for (const user_view& v : *users) ids.push_back(v.u.id);
    return ids;
  };

  CHECK(ids_of({"needle", std::nullopt, 12}) ==
        std::vector<std::string>{"u0000", "u0100", "u0200", "u0300", "u0400", "u0500", "u0600",
                                 "u0700", "u0800", "u0900", "u1000", "u1100"});
  CHECK(ids_of({"NEEDLE", std::string("u0950"), 5}) ==
        std::vector<std::string>{"u1000", "u1100", "u1200"});
  CHECK(ids_of({"", std::string("u0998"), 3}) ==
        std::vector<std::string>{"u0999", "u1000", "u1001"});
  CHECK(ids_of({"", std::string("u1204"), 3}).empty());
}

TEST_CASE(
    "a worker's bounded cache keeps the users with live streams, and a state that left it "
    "is read back as it was",
    "[store][decider][cache]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  // Two states at most, and a state without live streams may leave as soon as it is unused.
  seeded_worker w(kind, test_rules(), {2, 0});
  decider& d = w.d;

  const batch_result alice = decide(d, {start_of("alice", "ra", "tv")});
  REQUIRE(alice.replies[0].status == outcome::allowed);
  REQUIRE(decide(d, {start_of("dave", "rd")}).replies[0].status == outcome::allowed);
  const batch_result bob = decide(d, {start_of("bob", "rb", "phone")});
  REQUIRE(bob.replies[0].status == outcome::allowed);
  const std::string bob_stream = std::get<verdict>(bob.replies[0].body).granted->stream_id;
  REQUIRE(decide(d, {stop_request{"bob", bob_stream}}).replies[0].status == outcome::no_content);
  for (const char* user : {"erin", "frank", "grace", "henry", "isabel", "jonas"})
    REQUIRE(decide(d, {get_user_request{user}}).replies[0].status == outcome::ok);

  // Past two, only alice's and dave's states stayed: they hold live streams.
  CHECK(d.cached_users() == 2);
  CHECK(d.active_streams() == std::optional<std::uint64_t>(2));
  // And a Redis store keeps what it needs to commit a user for those two only.
  if (const auto* redis = dynamic_cast<const redis_store*>(w.s.get()))
    CHECK(redis->users_known() == 2);

  SECTION("a replay of a user that left the cache gets the original verdict") {
    const verdict& original = std::get<verdict>(bob.replies[0].body);
    for (const request_body& again :
         {request_body{start_of("bob", "rb", "phone")},
          request_body{get_request_request{"rb", std::string("bob")}}}) {
      const batch_result replayed = decide(d, {again});
      const auto* v = std::get_if<verdict>(&replayed.replies[0].body);
      REQUIRE(v);
      REQUIRE(v->granted);
      // Bob stopped that stream: the replay shows it over by now, and is otherwise the verdict.
      CHECK(v->granted->expires_at_ms < original.granted->expires_at_ms);
      verdict same = *v;
      same.granted->expires_at_ms = original.granted->expires_at_ms;
      CHECK(same == original);
    }
  }
  SECTION("a user read back starts up to its limit, and no further") {
    // erin's plan is standard: 2 streams.
    REQUIRE(decide(d, {start_of("erin", "re1")}).replies[0].status == outcome::allowed);
    REQUIRE(decide(d, {get_user_request{"frank"}}).replies[0].status == outcome::ok);
    REQUIRE(decide(d, {start_of("erin", "re2")}).replies[0].status == outcome::allowed);
    CHECK(decide(d, {start_of("erin", "re3")}).replies[0].status == outcome::denied);
    CHECK(d.active_streams() == std::optional<std::uint64_t>(4));
  }
  SECTION("a user holding a stream stays, and its replay names it") {
    CHECK(decide(d, {start_of("alice", "ra", "tv")}).replies[0].body == alice.replies[0].body);
    CHECK(live_streams(d, "alice").size() == 1);
  }
}

}  // namespace streamgate
