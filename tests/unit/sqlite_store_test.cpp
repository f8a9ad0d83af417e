// The SQLite store (worker/store/sqlite): its lock, commits and conflicts, indexes, seeding,
// starts and audit trims; the migrations are in sqlite_store_migration_test.cpp.

#include <fstream>

#include "sqlite_store_test_support.hpp"
#include "tests/unit/child_process.hpp"

namespace streamgate::sqlite_test {

TEST_CASE("a second open of a store file is refused and names the holder", "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "var" / "x.db";
  auto store = sqlite_store::open(file);
  const std::string pid = std::to_string(::getpid());

  SECTION("from the same process") {
    try {
      sqlite_store::open(file);
      FAIL("the second open succeeded");
    } catch (const store_in_use& e) {
      const std::string message = e.what();
      CHECK_THAT(message, Catch::Contains("'" + file.string() + "' is in use by another worker"));
      CHECK_THAT(message, Catch::Contains("pid " + pid));
      CHECK_THAT(message, Catch::Contains("lock '" + file.string() + ".lock'"));
    }
  }

  SECTION("from another process") {
    // The child only tries the lock, which fails before SQLite is touched.
    const int code = test::exit_code_in_child([&] {
      try {
        sqlite_store::open(file);
      } catch (const store_in_use& e) {
        return std::string(e.what()).find("pid " + pid + ",") != std::string::npos ? 0 : 2;
      } catch (...) {
        return 3;
      }
      return 1;
    });
    CHECK(code == 0);
  }

  SECTION("through a hard or a symbolic link to the file, whose lock file differs") {
    const auto linked = dir.path() / "var" / "linked.db";
    if (GENERATE(false, true))
      std::filesystem::create_hard_link(file, linked);
    else
      std::filesystem::create_symlink(file, linked);
    try {
      sqlite_store::open(linked);
      FAIL("the open through a link succeeded");
    } catch (const store_in_use& e) {
      CHECK_THAT(std::string(e.what()),
                 Catch::Contains("'" + linked.string() + "' is in use by another worker"));
    }
  }

  SECTION("but succeeds once the holder closed it") {
    store.reset();
    CHECK(sqlite_store::open(file) != nullptr);
  }
}

TEST_CASE("a reopened store holds the states, versions, audit and dataset id it had",
          "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  std::string dataset;
  core::user_state alice;
  {
    auto store = sqlite_store::open(file);
    dataset = store->dataset_id();
    CHECK(dataset.rfind("d_", 0) == 0);
    CHECK(store->exclusive());
    REQUIRE(store->commit({created(new_user("alice"))}) ==
            std::vector<commit_status>{commit_status::committed});
    alice = loaded_one(*store, "alice");
    CHECK(alice.version == 1);
    auto commit = granted(alice, "s1", "r1", t0 + 90'000);
    commit.state.u.plan = "family";
    commit.state.u.token_hash = "abc";
    REQUIRE(store->commit({commit}) == std::vector<commit_status>{commit_status::committed});
    alice = commit.state;
    alice.version = 2;
  }

  auto store = sqlite_store::open(file);
  CHECK(store->dataset_id() == dataset);
  CHECK(loaded_one(*store, "alice") == alice);
  const auto audit = store->recent_audit("alice", 10);
  REQUIRE(audit.size() == 1);
  CHECK(audit[0].type == "allowed");
  CHECK(audit[0].request_id == "r1");
  CHECK(audit[0].stream_id == "s1");
  CHECK(audit[0].video_id.empty());
  // A clean close folds the decision log into the tables: read them after.
  store.reset();
  CHECK(text_of(file, "PRAGMA journal_mode") == "wal");
  CHECK(text_of(file, "SELECT typeof(state) FROM users") == "blob");
}

TEST_CASE("a commit on a stale version conflicts and stores nothing of it", "[sqlite_store]") {
  test::temp_dir dir;
  auto store = sqlite_store::open(dir.path() / "x.db");
  REQUIRE(store->commit({created(new_user("alice")), created(new_user("bob"))}) ==
          std::vector<commit_status>(2, commit_status::committed));
  const core::user_state loaded = loaded_one(*store, "alice");
  REQUIRE(store->commit({granted(loaded, "s1", "r1", t0)})[0] == commit_status::committed);

  // Decided on the state as it was before the commit above; bob's commit in the same batch is not
  // held back by it.
  auto stale = granted(loaded, "s2", "r2", t0 + 5);
  auto bob = granted(loaded_one(*store, "bob"), "s3", "r3", t0 + 7);
  CHECK(store->commit({stale, bob}) ==
        std::vector<commit_status>{commit_status::conflict, commit_status::committed});

  const core::user_state alice = loaded_one(*store, "alice");
  CHECK(alice.version == 2);
  REQUIRE(alice.streams.size() == 1);
  CHECK(alice.streams[0].stream_id == "s1");
  const auto audit = store->recent_audit("alice", 10);
  REQUIRE(audit.size() == 1);
  CHECK(audit[0].request_id == "r1");
  CHECK_FALSE(store->request_owner("r2"));
  CHECK(store->request_owner("r3") == "bob");
  CHECK(store->due_users(t0 + 5, 10) == std::vector<std::string>{"alice"});
}

TEST_CASE("a user created twice conflicts the second time", "[sqlite_store]") {
  test::temp_dir dir;
  auto store = sqlite_store::open(dir.path() / "x.db");
  REQUIRE(store->commit({created(new_user("alice"))})[0] == commit_status::committed);
  auto again = new_user("alice");
  again.u.name = "Impostor";
  user_commit second = created(again);
  second.audit = {audit_line("alice", t0, "created")};
  CHECK(store->commit({second})[0] == commit_status::conflict);
  CHECK(loaded_one(*store, "alice").u.name == "Name of alice");
  CHECK(store->recent_audit("alice", 10).empty());

  const auto loaded = store->load({"alice", "nobody", "alice"});
  REQUIRE(loaded.states.size() == 3);
  CHECK(loaded.states[0].has_value());
  CHECK_FALSE(loaded.states[1].has_value());
  CHECK(loaded.states[2].has_value());
  CHECK(loaded.now_ms > t0);
  CHECK(store->user_ids() == std::vector<std::string>{"alice"});
}

TEST_CASE("the lease and request indexes follow commits and survive a reopen", "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  auto store = sqlite_store::open(file);
  for (const char* id : {"alice", "bob", "carol"})
    REQUIRE(store->commit({created(new_user(id))})[0] == commit_status::committed);
  REQUIRE(store->commit({granted(loaded_one(*store, "alice"), "s1", "r1", t0 + 30),
                         granted(loaded_one(*store, "bob"), "s2", "r2", t0 + 10),
                         granted(loaded_one(*store, "carol"), "s3", "r3", t0 + 20)}) ==
          std::vector<commit_status>(3, commit_status::committed));

  CHECK(store->due_users(t0 + 9, 10).empty());
  CHECK(store->due_users(t0 + 20, 10) == std::vector<std::string>{"bob", "carol"});
  CHECK(store->due_users(t0 + 30, 2) == std::vector<std::string>{"bob", "carol"});
  CHECK(store->request_owner("r1") == "alice");
  CHECK_FALSE(store->request_owner("r9"));

  // Bob's stream ends; alice's lease is renewed. Bob's start stays remembered: starts are
  // forgotten by age (prune) and by the per-user cap, never by a later commit.
  core::user_state bob = loaded_one(*store, "bob");
  bob.streams.clear();
  user_commit bob_ends;
  bob_ends.state = bob;
  core::user_state alice = loaded_one(*store, "alice");
  alice.streams[0].expires_at_ms = t0 + 50;
  user_commit alice_renews;
  alice_renews.state = alice;
  alice_renews.next_expiry = t0 + 50;
  REQUIRE(store->commit({bob_ends, alice_renews}) ==
          std::vector<commit_status>(2, commit_status::committed));

  const auto check_indexes = [](sqlite_store& s) {
    CHECK(s.due_users(t0 + 40, 10) == std::vector<std::string>{"carol"});
    CHECK(s.due_users(t0 + 50, 10) == std::vector<std::string>{"carol", "alice"});
    CHECK(s.request_owner("r1") == "alice");
    CHECK(s.request_owner("r2") == "bob");
    CHECK(s.request_owner("r3") == "carol");
  };
  check_indexes(*store);
  store.reset();
  store = sqlite_store::open(file);
  check_indexes(*store);
}

// A store at `file` holding alice, as loaded back.
std::pair<std::unique_ptr<sqlite_store>, core::user_state> store_with_alice(
    const std::filesystem::path& file) {
  auto store = sqlite_store::open(file);
  REQUIRE(store->commit({created(new_user("alice"))})[0] == commit_status::committed);
  auto alice = loaded_one(*store, "alice");
  return {std::move(store), std::move(alice)};
}

TEST_CASE("a store file deleted or renamed under an open store is lost at the next commit",
          "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  auto [store, alice] = store_with_alice(file);

  const bool renamed = GENERATE(false, true);
  CAPTURE(renamed);
  if (renamed)
    std::filesystem::rename(file, dir.path() / "moved.db");
  else
    std::filesystem::remove(file);

  CHECK_THROWS_AS(store->commit({granted(alice, "s1", "r1", t0)}), store_lost);
  CHECK_FALSE(store->request_owner("r1"));
  CHECK_THROWS_WITH(store->commit({granted(alice, "s1", "r1", t0)}),
                    Catch::Contains("'" + file.string() + "' was deleted or replaced"));
}

TEST_CASE("a write to the store file by another connection stops the store at its next commit",
          "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  auto [store, alice] = store_with_alice(file);
  // Reading it, as an operator's sqlite3 shell may, changes nothing.
  CHECK(text_of(file, "SELECT id FROM users") == "alice");
  REQUIRE(store->commit({granted(alice, "s1", "r1", t0)})[0] == commit_status::committed);
  const auto with_s1 = loaded_one(*store, "alice");

  SECTION("the decision log") {
    // Its newest segment, one byte longer than this store wrote it.
    std::ofstream(segments_of(file).back(), std::ios::binary | std::ios::app) << 'x';
    CHECK_THROWS_WITH(store->commit({granted(with_s1, "s2", "r2", t0)}),
                      Catch::Contains("another process wrote the decision log"));
    CHECK_FALSE(store->request_owner("r2"));
  }
  SECTION("the tables, seen by the next fold") {
    sqlite_db other(file.string());
    other.exec("DELETE FROM audit");
    REQUIRE(store->commit({granted(with_s1, "s2", "r2", t0)})[0] == commit_status::committed);
    CHECK_THROWS_WITH(store->settle(), Catch::Contains("another process wrote the store file"));
    const auto with_s2 = granted(with_s1, "s2", "r2", t0).state;
    CHECK_THROWS_AS(store->commit({granted(with_s2, "s3", "r3", t0)}), store_lost);
    CHECK_FALSE(store->request_owner("r3"));
  }
}

TEST_CASE("seeding adds absent users only and marks the store seeded", "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  auto store = sqlite_store::open(file);
  CHECK_FALSE(store->seeded());

  dataset_catalog catalog;
  catalog.videos = {{"v02", "Two", 20}, {"v01", "One", 10}};
  catalog.plans = {{"premium", 4, policy::evict_oldest}, {"basic", 1, policy::deny}};
  store->seed(catalog, {new_user("bob"), new_user("alice")});
  CHECK(store->seeded());
  CHECK(store->user_ids() == std::vector<std::string>{"alice", "bob"});
  CHECK(loaded_one(*store, "alice").version == 1);

  const dataset_catalog stored = store->load_catalog();
  REQUIRE(stored.videos.size() == 2);
  CHECK(stored.videos[0].id == "v01");
  CHECK(stored.videos[0].title == "One");
  CHECK(stored.videos[1].duration_seconds == 20);
  CHECK(stored.plans ==
        std::vector<plan>{{"basic", 1, policy::deny}, {"premium", 4, policy::evict_oldest}});

  // A seeded user may have changed since: seeding again never overwrites it.
  REQUIRE(store->commit({granted(loaded_one(*store, "alice"), "s1", "r1", t0)})[0] ==
          commit_status::committed);
  store->seed(catalog, {new_user("alice"), new_user("carol")});
  CHECK(loaded_one(*store, "alice").streams.size() == 1);
  CHECK(store->user_ids() == std::vector<std::string>{"alice", "bob", "carol"});
  store.reset();
  CHECK(sqlite_store::open(file)->seeded());
}

TEST_CASE("a stored state that cannot be read fails that user's loads only", "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  sqlite_store::open(file)->commit({created(new_user("alice")), created(new_user("bob"))});
  sqlite_db(file.string()).exec("UPDATE users SET state = x'0907' WHERE id = 'bob'");

  auto store = sqlite_store::open(file);
  CHECK(loaded_one(*store, "alice").u.id == "alice");
  CHECK_THROWS_AS(store->load({"alice", "bob"}), store_unavailable);
  CHECK_THROWS_WITH(store->load({"bob"}),
                    Catch::Contains("user 'bob'") && Catch::Contains("encoding version 9"));
}

// The schemas of the limiter's store (worker/store/sqlite/sqlite_schema.cpp), version by version.
}  // namespace streamgate::sqlite_test

namespace streamgate::sqlite_test {

TEST_CASE("the audit trail is pruned of lines older than the cut-off, oldest first, in steps",
          "[sqlite_store][audit]") {
  test::temp_dir dir;
  auto store = sqlite_store::open(dir.path() / "x.db");
  REQUIRE(store->commit({created(new_user("alice")), created(new_user("bob"))}) ==
          std::vector<commit_status>(2, commit_status::committed));
  // Five old lines of alice, then two of bob, then three recent lines of alice.
  user_commit old_lines = created(loaded_one(*store, "alice"));
  for (int i = 0; i < 5; ++i)
    old_lines.audit.push_back(audit_line("alice", 1'000 + i, "allowed", "old" + std::to_string(i)));
  user_commit bobs = created(loaded_one(*store, "bob"));
  for (int i = 0; i < 2; ++i)
    bobs.audit.push_back(audit_line("bob", 2'000 + i, "denied", "bob" + std::to_string(i)));
  REQUIRE(store->commit({old_lines, bobs}) ==
          std::vector<commit_status>(2, commit_status::committed));
  user_commit recent = created(loaded_one(*store, "alice"));
  for (int i = 0; i < 3; ++i)
    recent.audit.push_back(audit_line("alice", 9'000 + i, "allowed", "new" + std::to_string(i)));
  REQUIRE(store->commit({recent})[0] == commit_status::committed);

  store->settle();  // a prune looks at the tables' rows
  // Cut-off 5,000: the 7 lines before it go, 3 at a time at most; the recent ones stay.
  CHECK(store->prune(5'000, 3) == 3);
  CHECK(store->prune(5'000, 3) == 3);
  CHECK(store->prune(5'000, 3) == 1);
  CHECK(store->prune(5'000, 3) == 0);
  CHECK(store->recent_audit("bob", 10).empty());
  const auto kept = store->recent_audit("alice", 10);
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].request_id == "new2");
  CHECK(kept[2].request_id == "new0");
  // The lines past the cut-off are never touched, however many steps.
  CHECK(store->prune(9'000, 1000) == 0);
  CHECK(store->prune(0, 0) == 0);
}

}  // namespace streamgate::sqlite_test

namespace streamgate::sqlite_test {

TEST_CASE("each user keeps only the newest audit lines up to the cap, across a reopen",
          "[sqlite_store][audit]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  constexpr std::size_t cap = 8;
  constexpr std::size_t most = cap + cap / 8;  // the trim waits for a little slack
  int written = 0;
  // One line per commit, as the worker writes them; checks what alice's trail then holds.
  const auto write_and_check = [&](sqlite_store& store) {
    user_commit c = created(loaded_one(store, "alice"));
    c.audit = {audit_line("alice", 1'000 + written, "allowed", "r" + std::to_string(written))};
    REQUIRE(store.commit({c})[0] == commit_status::committed);
    ++written;
    const auto trail = store.recent_audit("alice", 100);
    CAPTURE(written, trail.size());
    CHECK(trail.size() <= most);
    REQUIRE(trail.size() >= std::min<std::size_t>(cap, static_cast<std::size_t>(written)));
    for (std::size_t i = 0; i < cap && i < trail.size(); ++i)
      CHECK(trail[i].request_id == "r" + std::to_string(written - 1 - static_cast<int>(i)));
  };
  {
    auto store = sqlite_store::open(file, cap);
    REQUIRE(store->commit({created(new_user("alice")), created(new_user("bob"))}) ==
            std::vector<commit_status>(2, commit_status::committed));
    user_commit bobs = created(loaded_one(*store, "bob"));
    for (int i = 0; i < 3; ++i)
      bobs.audit.push_back(audit_line("bob", 500 + i, "denied", "bob" + std::to_string(i)));
    REQUIRE(store->commit({bobs})[0] == commit_status::committed);
    for (int i = 0; i < 30; ++i) write_and_check(*store);
  }
  // Reopened, the store counts the lines again and keeps trimming.
  auto store = sqlite_store::open(file, cap);
  for (int i = 0; i < 30; ++i) write_and_check(*store);
  CHECK(store->recent_audit("bob", 100).size() == 3);
  CHECK_THROWS_AS(sqlite_store::open(dir.path() / "y.db", 0), std::invalid_argument);
}

// The folding thread no longer counts every user's rows at open: a user is counted when a fold
// first needs it (worker/store/sqlite/row_counts.hpp), so a store reopened before every commit
// counts at every commit. A count taken after the commit's own rows are in would trim early.
TEST_CASE(
    "a user's starts and audit lines are trimmed at the same count when the store is "
    "reopened before every commit",
    "[sqlite_store][starts][audit]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  constexpr std::size_t audit_cap = 8;
  constexpr std::size_t starts_cap = core::remembered_starts_per_user;
  const std::size_t starts_most = core::with_slack(starts_cap);
  const std::size_t audit_most = core::with_slack(audit_cap);
  REQUIRE(sqlite_store::open(file, audit_cap)->commit({created(new_user("alice"))})[0] ==
          commit_status::committed);
  std::size_t lines = 0;  // alice's audit lines, as a store that was never closed leaves them
  for (std::size_t i = 0; i <= starts_most; ++i) {
    auto store = sqlite_store::open(file, audit_cap);
    user_commit c = created(loaded_one(*store, "alice"));
    const std::string id = "r" + std::to_string(i);
    c.new_starts = {allowed_start(id, make_stream("s", "alice", t0))};
    c.audit = {audit_line("alice", 1'000 + static_cast<std::int64_t>(i), "allowed", id)};
    REQUIRE(store->commit({c})[0] == commit_status::committed);
    const std::size_t made = i + 1;
    CAPTURE(made);
    // Each cap waits for an eighth over it, then keeps the newest `cap`.
    lines = lines == audit_most ? audit_cap : lines + 1;
    CHECK(store->recent_audit("alice", 1000).size() == lines);
    CHECK(loaded_one(*store, "alice").starts.size() == (made <= starts_most ? made : starts_cap));
    CHECK(store->request_owner("r0") ==
          (made <= starts_most ? std::optional<std::string>("alice") : std::nullopt));
  }
}

}  // namespace streamgate::sqlite_test
