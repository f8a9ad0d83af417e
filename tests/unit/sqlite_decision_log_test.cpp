// The SQLite store's decision log (worker/store/sqlite/log_record.hpp, decision_log.hpp,
// log_folder.hpp, table_writer.cpp, docs/design.md §8): commits append records, the version check
// sees them before any fold, a crash leaves them to the next open, and a fold applies them in
// commit order, once.

#include <chrono>
#include <filesystem>
#include <utility>

#include "sqlite_store_test_support.hpp"
#include "tests/support/wait.hpp"
#include "worker/store/sqlite/log_record.hpp"
#include "worker/store/state_codec.hpp"
#include "worker/store/stream_changes.hpp"

namespace streamgate::sqlite_test {

namespace {

// The user as the store holds it after `c` committed, without a load (a load folds the log).
core::user_state after(const user_commit& c) {
  core::user_state state = c.state;
  ++state.version;
  return state;
}

// A crash: the files as they are on disk while the store is open (every commit synced), taken
// while its folder is idle.
std::filesystem::path crash_copy(const std::filesystem::path& file,
                                 const std::string& name = "crashed.db") {
  const auto copy = file.parent_path() / name;
  std::filesystem::copy_file(file, copy);
  std::filesystem::copy_file(file.string() + "-wal", copy.string() + "-wal");
  std::filesystem::copy(log_of(file), log_of(copy));
  return copy;
}

// Alice created, then granted s1 by r1, both committed: the grant.
user_commit alice_granted_s1(sqlite_store& store) {
  const user_commit create = created(new_user("alice"));
  REQUIRE(store.commit({create})[0] == commit_status::committed);
  user_commit grant = granted(after(create), "s1", "r1", t0 + 30);
  REQUIRE(store.commit({grant})[0] == commit_status::committed);
  return grant;
}

}  // namespace

TEST_CASE("a log record reads back as written, and anything else is refused",
          "[sqlite_store][decision_log]") {
  user_commit c = granted(new_user("alice"), "s1", "r1", t0 + 30);
  c.state.version = 4;
  c.audit.push_back(audit_line("alice", t0, "denied", "r2"));
  c.audit.back().reason = "limit_reached";
  c.audit.back().video_id = "v02";
  const std::string bytes = encode_log_record(c, 4);

  const auto record = decode_log_record(bytes);
  REQUIRE(record.has_value());
  CHECK(record->user_id == "alice");
  CHECK(record->version == 5);
  CHECK_FALSE(record->remove);
  CHECK(record->starts == c.new_starts);
  CHECK(record->audit == c.audit);
  CHECK(record->state == encode_state(c.state, /*with_streams=*/false));
  // Nothing said what changed in the streams: all of them, and the stored ones go.
  CHECK(record->all_streams);
  CHECK(record->added == c.state.streams);
  CHECK(record->renewed.empty());
  CHECK(record->ended.empty());

  for (std::size_t n = 0; n < bytes.size(); ++n)
    CHECK_FALSE(decode_log_record(bytes.substr(0, n)).has_value());
  CHECK_FALSE(decode_log_record(bytes + '\0').has_value());
  std::string other_format = bytes;
  other_format[0] = 3;
  CHECK_THROWS_WITH(decode_log_record(other_format).value(), Catch::Contains("unknown format"));

  user_commit removal = c;
  removal.remove = true;
  const auto removed = decode_log_record(encode_log_record(removal, 4));
  REQUIRE(removed.has_value());
  CHECK(removed->remove);
  CHECK(removed->state.empty());
  CHECK(removed->starts.empty());
  CHECK(removed->audit.empty());
  CHECK(removed->added.empty());

  // What changed against the version loaded: only those streams travel.
  user_commit delta = c;
  delta.state.streams = {make_stream("s0", "alice", t0 + 60), c.state.streams[0],
                         make_stream("s2", "bob", t0 + 70)};
  delta.streams_changed = stream_changes{{2}, {0}, {"s9"}};
  const std::string delta_bytes = encode_log_record(delta, 4);
  const auto changed = decode_log_record(delta_bytes);
  REQUIRE(changed.has_value());
  CHECK_FALSE(changed->all_streams);
  CHECK(changed->added == std::vector<stream>{delta.state.streams[2]});  // its owner kept
  CHECK(changed->renewed == std::vector<std::pair<std::string, std::int64_t>>{{"s0", t0 + 60}});
  CHECK(changed->ended == std::vector<std::string>{"s9"});
  for (std::size_t n = 0; n < delta_bytes.size(); ++n)
    CHECK_FALSE(decode_log_record(delta_bytes.substr(0, n)).has_value());
  // A new user has nothing stored to change: its record holds all its streams.
  CHECK(decode_log_record(encode_log_record(delta, 0))->all_streams);
}

TEST_CASE("a commit logs only the streams it changed, and they load in the order made",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  auto store = open_unfolded(file);
  const user_commit create = created(new_user("alice"));
  REQUIRE(store->commit({create})[0] == commit_status::committed);
  user_commit two = granted(after(create), "s1", "r1", t0 + 30);
  two.state.streams.push_back(make_stream("s2", "alice", t0 + 40));
  two.streams_changed = changes_of({"s1", "s2"}, {}, {}, two.state.streams);
  REQUIRE(store->commit({two})[0] == commit_status::committed);
  store.reset();  // a close folds the log into the tables
  store = open_unfolded(file);

  // s1 stopped, s2 beaten, then two started in one commit at one time, ids against their order.
  user_commit next = created(after(two));
  next.state.streams.erase(next.state.streams.begin());
  next.state.streams[0].expires_at_ms = t0 + 90;
  next.state.streams.push_back(make_stream("s9", "alice", t0 + 80));
  next.state.streams.push_back(make_stream("s3", "alice", t0 + 80));
  next.streams_changed = changes_of({"s9", "s3"}, {"s2"}, {"s1"}, next.state.streams);
  next.next_expiry = t0 + 80;
  REQUIRE(store->commit({next})[0] == commit_status::committed);

  const auto copy = crash_copy(file);
  const auto logged = logged_records(copy);
  REQUIRE(logged.size() == 1);
  const auto record = decode_log_record(logged[0].bytes);
  REQUIRE(record.has_value());
  CHECK(record->added.size() == 2);
  CHECK(record->renewed.size() == 1);
  CHECK(record->ended == std::vector<std::string>{"s1"});
  CHECK(loaded_one(*sqlite_store::open(copy), "alice") == after(next));
  CHECK(loaded_one(*store, "alice") == after(next));
  CHECK(text_of(copy, "SELECT group_concat(stream_id) FROM streams") == "s2,s3,s9");
}

TEST_CASE("one fold applies each user's records in their order, however the users interleave",
          "[sqlite_store][decision_log]") {
  // The fold writes user by user (table_writer::apply_all); the log holds zed's records before
  // and after amy's, and each user's later record ends what its earlier one made.
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  auto store = open_unfolded(file);
  const user_commit zed_created = created(new_user("zed"));
  const user_commit amy_created = created(new_user("amy"));
  REQUIRE(store->commit({zed_created, amy_created}) ==
          std::vector<commit_status>(2, commit_status::committed));
  const user_commit zed_s1 = granted(after(zed_created), "s1", "r1", t0 + 30);
  const user_commit amy_s2 = granted(after(amy_created), "s2", "r2", t0 + 30);
  REQUIRE(store->commit({zed_s1, amy_s2}) ==
          std::vector<commit_status>(2, commit_status::committed));
  // Each ends its first stream and starts another.
  const auto replaced = [](const user_commit& before, const char* stream_id,
                           const char* request_id) {
    user_commit next = granted(after(before), stream_id, request_id, t0 + 60);
    const std::string ended = next.state.streams.front().stream_id;
    next.state.streams.erase(next.state.streams.begin());
    next.streams_changed = changes_of({stream_id}, {}, {ended}, next.state.streams);
    next.next_expiry = t0 + 60;
    return next;
  };
  const user_commit amy_s4 = replaced(amy_s2, "s4", "r4");
  const user_commit zed_s3 = replaced(zed_s1, "s3", "r3");
  REQUIRE(store->commit({amy_s4})[0] == commit_status::committed);
  REQUIRE(store->commit({zed_s3})[0] == commit_status::committed);
  store.reset();  // a close folds the whole log in one fold

  CHECK(text_of(file, "SELECT group_concat(id || ':' || version) FROM users") == "amy:3,zed:3");
  CHECK(text_of(file, "SELECT group_concat(stream_id) FROM streams") == "s4,s3");
  auto reopened = sqlite_store::open(file);
  CHECK(loaded_one(*reopened, "zed") == after(zed_s3));
  CHECK(loaded_one(*reopened, "amy") == after(amy_s4));
  const auto zed_audit = reopened->recent_audit("zed", 10);
  REQUIRE(zed_audit.size() == 2);
  CHECK(zed_audit[0].request_id == "r3");
  CHECK(zed_audit[1].request_id == "r1");
}

TEST_CASE("a record that adds a stream already stored replaces its row and the log folds on",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  auto store = open_unfolded(dir.path() / "x.db");
  const user_commit grant = alice_granted_s1(*store);
  // Says s1 is new although the commit above stored it: never made by the decider.
  user_commit again = created(after(grant));
  again.state.streams[0].expires_at_ms = t0 + 60;
  again.streams_changed = stream_changes{{0}, {}, {}};
  REQUIRE(store->commit({again})[0] == commit_status::committed);
  store->settle();

  const core::user_state alice = loaded_one(*store, "alice");
  CHECK(alice.streams == after(again).streams);
  const user_commit later = granted(after(again), "s2", "r2", t0 + 70);
  CHECK(store->commit({later})[0] == commit_status::committed);
  CHECK(loaded_one(*store, "alice").streams.size() == 2);
}

TEST_CASE("commits in the log are version-checked before any fold",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  auto store = open_unfolded(dir.path() / "x.db");
  const user_commit create = created(new_user("alice"));
  REQUIRE(store->commit({create})[0] == commit_status::committed);
  CHECK(store->commit({create})[0] == commit_status::conflict);

  const user_commit first = granted(after(create), "s1", "r1", t0 + 30);
  const user_commit second = granted(after(create), "s2", "r2", t0 + 40);  // also on version 1
  CHECK(store->commit({first, second}) ==
        std::vector<commit_status>{commit_status::committed, commit_status::conflict});
  CHECK(store->commit({second})[0] == commit_status::conflict);
  CHECK(store->request_owner("r1") == "alice");
  CHECK_FALSE(store->request_owner("r2"));

  const core::user_state alice = loaded_one(*store, "alice");
  CHECK(alice.version == 2);
  CHECK(alice.streams == after(first).streams);
}

TEST_CASE("what a crash leaves in the log is applied at the next open, in commit order",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  auto store = open_unfolded(file);
  const user_commit alice_created = created(new_user("alice"));
  const user_commit bob_created = created(new_user("bob"));
  REQUIRE(store->commit({alice_created, bob_created}) ==
          std::vector<commit_status>(2, commit_status::committed));
  const user_commit first = granted(after(alice_created), "s1", "r1", t0 + 30);
  REQUIRE(store->commit({first})[0] == commit_status::committed);
  const user_commit second = granted(after(first), "s2", "r2", t0 + 20);
  REQUIRE(store->commit({second})[0] == commit_status::committed);

  const auto copy = crash_copy(file);
  CHECK(logged_records(copy).size() == 4);
  CHECK(text_of(copy, "SELECT count(*) FROM users") == "0");

  {
    auto reopened = sqlite_store::open(copy);
    CHECK(loaded_one(*reopened, "alice") == after(second));
    CHECK(loaded_one(*reopened, "bob") == after(bob_created));
    CHECK(reopened->user_ids() == std::vector<std::string>{"alice", "bob"});
    const auto audit = reopened->recent_audit("alice", 10);
    REQUIRE(audit.size() == 2);
    CHECK(audit[0].request_id == "r2");
    CHECK(audit[1].request_id == "r1");
    CHECK(reopened->request_owner("r1") == "alice");
    CHECK(reopened->request_owner("r2") == "alice");
    CHECK(reopened->due_users(t0 + 20, 10) == std::vector<std::string>{"alice"});
  }
  CHECK(logged_records(copy).empty());
  CHECK(text_of(copy, "SELECT version FROM users WHERE id = 'alice'") == "3");
}

TEST_CASE("a user removed and created again before a fold keeps nothing of its first life",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  auto store = open_unfolded(dir.path() / "x.db");
  const user_commit grant = alice_granted_s1(*store);
  user_commit removal;
  removal.state = after(grant);
  removal.remove = true;
  // The removal is folded with the records before it, and frees the request id at once.
  REQUIRE(store->commit({removal})[0] == commit_status::committed);
  CHECK_FALSE(store->request_owner("r1"));
  CHECK(store->due_users(t0 + 30, 10).empty());
  CHECK(store->recent_audit("alice", 10).empty());
  CHECK(store->user_ids().empty());
  CHECK_FALSE(store->load({"alice"}).states[0]);
  CHECK(store->commit({removal})[0] == commit_status::conflict);

  REQUIRE(store->commit({created(new_user("alice"))})[0] == commit_status::committed);
  const core::user_state again = loaded_one(*store, "alice");
  CHECK(again.version == 1);
  CHECK(again.streams.empty());
  CHECK(again.starts.empty());
}

}  // namespace streamgate::sqlite_test

namespace streamgate::sqlite_test {

TEST_CASE("the folder folds on its thread once enough records wait, and the log drops them next",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  constexpr std::size_t fold_at = 64;
  auto store = open_unfolded(file, fold_at);
  user_commit c = created(new_user("alice"));
  REQUIRE(store->commit({c})[0] == commit_status::committed);
  for (std::size_t i = 1; i < fold_at; ++i) {
    c = granted(after(c), "s" + std::to_string(i), "r" + std::to_string(i), t0 + 30);
    REQUIRE(store->commit({c})[0] == commit_status::committed);
  }
  // The 64th record woke the folder: the tables come to hold all of them, with no read asking.
  REQUIRE(it::wait_until(
      [&] { return text_of(file, "SELECT version FROM users") == std::to_string(fold_at); },
      std::chrono::seconds(20)));
  CHECK(text_of(file, "SELECT value FROM meta WHERE key = 'log_folded_through'") ==
        std::to_string(fold_at));
  store->settle();  // returns once the folder is idle and has reported its fold; folds nothing
  // Until the next commit the log keeps them: a crash now must not apply them twice.
  const auto folded_not_cleared = crash_copy(file);
  CHECK(logged_records(folded_not_cleared).size() == fold_at);
  {
    auto reopened = open_unfolded(folded_not_cleared);
    CHECK(loaded_one(*reopened, "alice") == after(c));
    CHECK(reopened->recent_audit("alice", 1000).size() == fold_at - 1);
  }

  c = granted(after(c), "s_next", "r_next", t0 + 30);
  REQUIRE(store->commit({c})[0] == commit_status::committed);
  // The next commit drops the folded ones: their segment goes, the new record is in a new one.
  const auto logged = logged_records(file);
  REQUIRE(logged.size() == 1);
  CHECK(logged[0].seq == static_cast<std::int64_t>(fold_at + 1));
  // The version check still sees the log's newest version.
  CHECK(store->commit({c})[0] == commit_status::conflict);
  CHECK(loaded_one(*store, "alice") == after(c));
  CHECK(store->recent_audit("alice", 1000).size() == fold_at);
}

TEST_CASE("a fold that fails keeps its records, commits go on, and the next fold applies them once",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  auto store = open_unfolded(file);
  const user_commit grant = alice_granted_s1(*store);
  {
    // Another connection holds the tables' write lock past the folder's busy timeout.
    sqlite_db other(file.string());
    other.exec("BEGIN IMMEDIATE");
    CHECK_THROWS_AS(store->settle(), store_unavailable);
    // The log still takes commits, version-checked against the unfolded records.
    const user_commit second = granted(after(grant), "s2", "r2", t0 + 40);
    CHECK(store->commit({second})[0] == commit_status::committed);
    CHECK(store->commit({second})[0] == commit_status::conflict);
    other.exec("ROLLBACK");  // wrote nothing: no other writer as far as the store can tell
  }
  store->settle();
  const core::user_state alice = loaded_one(*store, "alice");
  CHECK(alice.version == 3);
  CHECK(alice.streams.size() == 2);
  const auto audit = store->recent_audit("alice", 10);
  REQUIRE(audit.size() == 2);
  CHECK(audit[0].request_id == "r2");
  CHECK(audit[1].request_id == "r1");
}

TEST_CASE("a decision log of another dataset is refused, an empty one is taken over",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto first = dir.path() / "first.db";
  const auto second = dir.path() / "second.db";
  {
    auto store = open_unfolded(first);
    REQUIRE(store->commit({created(new_user("alice"))})[0] == commit_status::committed);
    const auto crashed = crash_copy(first);  // a log holding alice's record
    std::filesystem::rename(log_of(crashed), log_of(second));
  }
  CHECK_THROWS_WITH(sqlite_store::open(second), Catch::Contains("holds records of dataset") &&
                                                    Catch::Contains(log_of(second).string()));
  // Emptied (a segment holding only its header, as a crash right after making one leaves it),
  // it is the second store's: nothing of the first is applied, and the segment goes.
  const auto segment = segments_of(second).at(0);
  // One byte short, its one batch no longer ends: what a crash during that batch's write leaves.
  std::filesystem::resize_file(segment, log_segment::scan(segment).whole_through - 1);
  REQUIRE(log_segment::scan(segment).header_whole);
  REQUIRE(log_segment::scan(segment).records.empty());
  auto store = sqlite_store::open(second);
  CHECK(store->user_ids().empty());
  CHECK(segments_of(second).empty());
  REQUIRE(store->commit({created(new_user("bob"))})[0] == commit_status::committed);
  CHECK(log_segment::scan(segments_of(second).at(0)).dataset_id == store->dataset_id());
}

}  // namespace streamgate::sqlite_test
