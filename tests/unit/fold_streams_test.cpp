// What one fold writes of a user's stream rows (worker/store/sqlite/fold_streams.hpp): the rows
// must end as they would after each record's changes in turn, so a miss here would lose a stream
// or keep one that ended.

#include "worker/store/sqlite/fold_streams.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace streamgate::fold_streams_test {

namespace {

// A stream row: its lease and the (version, rank) of the record that made it.
using row = std::tuple<std::int64_t, std::uint64_t, std::size_t>;
using rows = std::map<std::string, row>;

stream live(const std::string& id, std::int64_t expires_at_ms) {
  return {id, "alice", "v1", "device-" + id, 1'000, expires_at_ms};
}

// The rows after each record's changes in turn, as a fold applied them one record at a time.
void apply_one_by_one(rows& table, const log_record& r) {
  if (r.all_streams) table.clear();
  for (const std::string& id : r.ended) table.erase(id);
  for (const auto& [id, expires_at_ms] : r.renewed)
    if (const auto it = table.find(id); it != table.end()) std::get<0>(it->second) = expires_at_ms;
  for (std::size_t rank = 0; rank < r.added.size(); ++rank)
    table[r.added[rank].stream_id] = {r.added[rank].expires_at_ms, r.version, rank};
}

// The rows after the net changes, and how many statements wrote them.
int apply_net(rows& table, const fold_streams& net) {
  int statements = 0;
  if (net.stored_go()) {
    table.clear();
    ++statements;
  }
  for (const std::string& id : net.ended()) {
    table.erase(id);
    ++statements;
  }
  net.each_renewed([&](const std::string& id, std::int64_t expires_at_ms) {
    if (const auto it = table.find(id); it != table.end()) std::get<0>(it->second) = expires_at_ms;
    ++statements;
  });
  net.each_made([&](const fold_streams::made& m) {
    table[m.s.stream_id] = {m.s.expires_at_ms, m.version, m.rank};
    ++statements;
  });
  return statements;
}

log_record record(std::uint64_t version, std::vector<stream> added,
                  std::vector<std::pair<std::string, std::int64_t>> renewed = {},
                  std::vector<std::string> ended = {}) {
  log_record r;
  r.user_id = "alice";
  r.version = version;
  r.added = std::move(added);
  r.renewed = std::move(renewed);
  r.ended = std::move(ended);
  return r;
}

int net_statements(const std::vector<log_record>& records, const rows& stored, rows& out) {
  fold_streams net;
  for (const log_record& r : records) net.add(r);
  out = stored;
  return apply_net(out, net);
}

}  // namespace

TEST_CASE("a fold writes a user's stream rows as its records leave them, and no row between",
          "[unit][sqlite_store]") {
  const rows stored{{"s1", {100, 1, 0}}, {"s2", {200, 1, 1}}};
  rows net;
  SECTION("a stream made and ended within the fold is never written") {
    CHECK(net_statements({record(2, {live("s3", 300)}), record(3, {}, {}, {"s3"})}, stored, net) ==
          0);
    CHECK(net == stored);
  }
  SECTION("a stream made and renewed is written once, with its last lease") {
    CHECK(net_statements({record(2, {live("s3", 300)}), record(3, {}, {{"s3", 350}}),
                          record(4, {}, {{"s3", 400}})},
                         stored, net) == 1);
    CHECK(net.at("s3") == row{400, 2, 0});
  }
  SECTION("a stored stream renewed twice is updated once; renewed then ended, only deleted") {
    CHECK(net_statements({record(2, {}, {{"s1", 150}}), record(3, {}, {{"s1", 160}, {"s2", 250}}),
                          record(4, {}, {}, {"s2"})},
                         stored, net) == 2);
    CHECK(net == rows{{"s1", {160, 1, 0}}});
  }
  SECTION("a record naming all of the user's streams drops what came before it") {
    log_record all = record(3, {live("s4", 400)});
    all.all_streams = true;
    CHECK(net_statements({record(2, {live("s3", 300)}, {}, {"s1"}), all}, stored, net) == 2);
    CHECK(net == rows{{"s4", {400, 3, 0}}});
  }
}

TEST_CASE("a fold's net stream rows equal its records applied one by one, for any records",
          "[unit][sqlite_store]") {
  std::mt19937 random(GENERATE(range(1, 201)));
  rows stored;
  for (int i = 0; i < 3; ++i) stored["old" + std::to_string(i)] = {100 + i, 1, std::size_t(i)};
  rows one_by_one = stored;
  std::vector<log_record> records;
  int made = 0;
  const std::uint64_t last_version = 2 + random() % 12;
  for (std::uint64_t version = 2; version <= last_version; ++version) {
    // Live now: what the records so far left; each new record changes some of them.
    std::vector<std::string> ids;
    for (const auto& [id, r] : one_by_one) ids.push_back(id);
    log_record r = record(version, {});
    r.all_streams = random() % 8 == 0;
    for (const std::string& id : ids) {
      const unsigned roll = random() % 4;
      if (r.all_streams) {
        if (roll != 0) r.added.push_back(live(id, std::get<0>(one_by_one.at(id))));
      } else if (roll == 0) {
        r.ended.push_back(id);
      } else if (roll == 1) {
        r.renewed.emplace_back(id, 1'000 + random() % 1'000);
      }
    }
    for (unsigned k = random() % 3; k > 0; --k)
      r.added.push_back(live("new" + std::to_string(made++), 1'000 + random() % 1'000));
    apply_one_by_one(one_by_one, r);
    records.push_back(std::move(r));
  }
  rows net;
  static_cast<void>(net_statements(records, stored, net));
  CHECK(net == one_by_one);
}

}  // namespace streamgate::fold_streams_test
