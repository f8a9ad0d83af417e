// The decision core on users (worker/core/decisions.hpp): a new token, deletion (which ends the
// user's streams), create_user and patch_user.

#include "core_test_support.hpp"

namespace streamgate::core {

using namespace test_support;

// ---- token, deletion ----

TEST_CASE("a new token replaces the old one's hash, is audited and revokes the user's access",
          "[core][access]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  state.u.token_hash = std::string(64, 'a');
  fill(state, 2, r);
  effects out;
  rotate_token(state, std::string(64, 'b'), t0 + 10, out);
  CHECK(state.u.token_hash == std::string(64, 'b'));
  CHECK(ids_of(state.streams) == std::vector<std::string>{"s1", "s2"});  // they keep playing
  CHECK(describe_all(out.events) == std::vector<std::string>{"3 revoked alice"});
  CHECK(describe_all(out.audit) == std::vector<std::string>{"token_rotated"});
  check_stamps(out, "alice", t0 + 10);
  CHECK(out.changed);
  CHECK_FALSE(out.removed);
}

TEST_CASE("deleting a user ends its live streams with reason deleted, then revokes and removes it",
          "[core][access]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  effects out;
  SECTION("with streams, one of them lapsed") {
    // s1 was granted a lease of 1 ms (the rule was shorter then), so it lapsed before the
    // deletion. Only the core changes a state's streams (user_state.hpp, list_aids).
    rules short_lease = r;
    short_lease.lease_ms = 1;
    effects ignored;
    REQUIRE(start(state, start_of("r1"), true, "s1", t0, short_lease, ignored).v.allowed);
    REQUIRE(start(state, start_of("r2"), true, "s2", t0, r, ignored).v.allowed);
    REQUIRE(start(state, start_of("r3"), true, "s3", t0, r, ignored).v.allowed);
    CHECK(delete_user(state, t0 + 5, r, out) == 2);
    CHECK(state.streams.empty());
    CHECK(describe_all(out.events) ==
          std::vector<std::string>{"4 ended s1 expired", "5 ended s2 deleted", "6 ended s3 deleted",
                                   "7 revoked alice"});
  }
  SECTION("without a stream") {
    CHECK(delete_user(state, t0, r, out) == 0);
    CHECK(describe_all(out.events) == std::vector<std::string>{"1 revoked alice"});
  }
  CHECK(out.changed);
  CHECK(out.removed);
}

// ---- users ----

TEST_CASE("create_user makes a version 0 state from a valid request", "[core][users]") {
  auto [max_streams, plan_id, token_hash] =
      GENERATE(table<std::optional<int>, std::optional<std::string>, std::optional<std::string>>({
          {std::nullopt, std::nullopt, std::nullopt},
          {0, std::nullopt, std::string(64, 'a')},
          {max_streams_ceiling, "family", std::nullopt},
          {2, "solo", std::string(64, 'f')},
      }));
  CAPTURE(max_streams, plan_id);
  create_user_request request;
  request.id = "ignored-the-id-argument-wins";
  request.name = "Alice";
  request.max_streams = max_streams;
  request.policy_override = policy::monitor;
  request.token_hash = token_hash;
  request.plan = plan_id;

  const result<user_state> created = create_user(request, "u_1", test_rules());
  REQUIRE(created.has_value());
  CHECK(created->u ==
        user{"u_1", "Alice", max_streams, policy::monitor, plan_id, token_hash.value_or("")});
  CHECK(created->streams.empty());
  CHECK(created->starts.empty());
  CHECK(created->seq == 0);
  CHECK(created->version == 0);
}

TEST_CASE("create_user refuses a limit outside 0..max_streams_ceiling or an unknown plan",
          "[core][users]") {
  auto [max_streams, plan_id, message] =
      GENERATE(table<std::optional<int>, std::optional<std::string>, std::string>({
          {-1, std::nullopt, "maxStreams -1 is outside 0..1000"},
          {max_streams_ceiling + 1, std::nullopt, "maxStreams 1001 is outside 0..1000"},
          {std::nullopt, "gold", "unknown plan 'gold'"},
          {std::nullopt, "", "unknown plan ''"},
          {3, "SOLO", "unknown plan 'SOLO'"},
      }));
  CAPTURE(max_streams, plan_id);
  create_user_request request;
  request.name = "Alice";
  request.max_streams = max_streams;
  request.plan = plan_id;
  const result<user_state> created = create_user(request, "u_1", test_rules());
  REQUIRE(created.has_error());
  CHECK(created.error().code == error_code::bad_request);
  CHECK(created.error().message == message);
}

TEST_CASE("patch_user applies only the fields that are set", "[core][users]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  state.u = user{"alice", "Alice", 2, policy::deny, "solo", "hash"};
  fill(state, 1, r);
  user expected = state.u;
  patch_user_request patch;
  patch.user_id = "alice";

  SECTION("nothing") {}
  SECTION("name") {
    patch.name = "Alice L.";
    expected.name = "Alice L.";
  }
  SECTION("limit, to the ceiling") {
    patch.max_streams = max_streams_ceiling;
    expected.max_streams = max_streams_ceiling;
  }
  SECTION("policy") {
    patch.policy_override = policy::evict_oldest;
    expected.policy_override = policy::evict_oldest;
  }
  SECTION("plan") {
    patch.plan = "family";
    expected.plan = "family";
  }
  SECTION("all at once, limit to 0") {
    patch.name = "A";
    patch.max_streams = 0;
    patch.policy_override = policy::monitor;
    patch.plan = "shadow";
    expected = user{"alice", "A", 0, policy::monitor, "shadow", "hash"};
  }
  const std::vector<stream> streams = state.streams;
  REQUIRE(patch_user(state, patch, r).has_value());
  CHECK(state.u == expected);
  CHECK(state.streams == streams);  // a lowered limit ends no running stream
  CHECK(state.seq == 1);
}

TEST_CASE("patch_user refuses a bad limit or plan and changes nothing", "[core][users]") {
  auto [name, max_streams, plan_id, message] =
      GENERATE(table<std::optional<std::string>, std::optional<int>, std::optional<std::string>,
                     std::string>({
          {std::nullopt, -1, std::nullopt, "maxStreams -1 is outside 0..1000"},
          {std::nullopt, 1001, std::nullopt, "maxStreams 1001 is outside 0..1000"},
          {std::nullopt, std::nullopt, "gold", "unknown plan 'gold'"},
          // A valid field beside a bad one is not applied either.
          {"Bob", 1001, std::nullopt, "maxStreams 1001 is outside 0..1000"},
          {"Bob", 2, "gold", "unknown plan 'gold'"},
      }));
  CAPTURE(max_streams, plan_id);
  const rules r = test_rules();
  user_state state = state_of("alice", 3);
  const user_state before = state;
  patch_user_request patch;
  patch.user_id = "alice";
  patch.name = name;
  patch.max_streams = max_streams;
  patch.plan = plan_id;
  patch.policy_override = policy::monitor;

  const result<void> patched = patch_user(state, patch, r);
  REQUIRE(patched.has_error());
  CHECK(patched.error().code == error_code::bad_request);
  CHECK(patched.error().message == message);
  CHECK(state == before);
}

}  // namespace streamgate::core
