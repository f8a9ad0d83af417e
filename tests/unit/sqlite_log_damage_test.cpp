// The newest segment of the SQLite store's decision log damaged before its end
// (worker/store/sqlite/log_segment.hpp, decision_log.hpp, docs/design.md §8): a crash can only
// tear the last batch, so valid frames of more than one batch past a bad spot mean confirmed
// records were lost and the log is refused, naming the file; a torn last batch is dropped as
// before, whatever follows it, and a recycled file's old frames are not taken for damage.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "sqlite_store_test_support.hpp"
#include "tests/unit/temp_dir.hpp"
#include "worker/store/sqlite/decision_log.hpp"
#include "worker/store/store.hpp"

// A namespace of its own: the unit tests are built in batches of files (unity build), and the
// other log tests have helpers of the same kind.
namespace streamgate::log_damage_test {

namespace {

std::string bytes_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put_bytes(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

std::vector<std::int64_t> seqs_in(const std::vector<logged_record>& records) {
  std::vector<std::int64_t> seqs;
  for (const logged_record& r : records) seqs.push_back(r.seq);
  return seqs;
}

std::vector<std::int64_t> seqs_from_to(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> seqs;
  for (std::int64_t seq = first; seq <= last; ++seq) seqs.push_back(seq);
  return seqs;
}

// `bytes` with one bit of the first `what` in it flipped: the frame holding it no longer checks.
std::string flipped_in(std::string bytes, const std::string& what) {
  const auto at = bytes.find(what);
  REQUIRE(at != std::string::npos);
  bytes[at + what.size() - 1] = static_cast<char>(bytes[at + what.size() - 1] ^ 0x20);
  return bytes;
}

// One segment (a log's first, named for seq 1) of the batches 1-2, 3, 4-6 and 7-9, each synced
// as the store writes them: the file's bytes and the offset where each batch ends.
struct four_batches {
  std::string bytes;
  std::vector<std::size_t> ends;
};

four_batches write_four_batches(const std::filesystem::path& folder) {
  four_batches written;
  decision_log log(folder, "d_test");
  std::int64_t seq = 0;
  for (int size : {2, 1, 3, 3}) {
    for (int i = 0; i < size; ++i, ++seq) log.append(seq + 1, "record " + std::to_string(seq + 1));
    log.commit();
    written.ends.push_back(std::filesystem::file_size(folder / log_segment::name_for(1)));
  }
  written.bytes = bytes_of(folder / log_segment::name_for(1));
  return written;
}

}  // namespace

TEST_CASE("a newest log segment damaged before its last batch is refused, naming the file",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto folder = dir.path() / "log";
  const four_batches written = write_four_batches(folder);
  const auto segment = folder / log_segment::name_for(1);
  const auto refused = Catch::Contains("'" + segment.string() + "' is damaged");

  SECTION("a byte of an early batch, the later batches whole") {
    put_bytes(segment, flipped_in(written.bytes, "record 3"));
    CHECK(seqs_in(log_segment::scan(segment).records) == seqs_from_to(1, 2));
    CHECK_THROWS_WITH(decision_log(folder, "d_test").take_records_after(0), refused);
    // Records the tables do not hold yet are lost whatever they hold.
    CHECK_THROWS_WITH(decision_log(folder, "d_test").take_records_after(6), refused);
    // Tables holding all of them lose nothing: the log opens, with nothing to apply.
    CHECK(decision_log(folder, "d_test").take_records_after(9).empty());
  }
  SECTION("its header zeroed") {
    put_bytes(segment, std::string(64, '\0') + written.bytes.substr(64));
    CHECK_FALSE(log_segment::scan(segment).header_whole);
    CHECK_THROWS_WITH(decision_log(folder, "d_test").take_records_after(0), refused);
  }
  SECTION("any one byte, the header's included") {
    for (std::size_t at = 0; at < written.ends[2]; ++at) {
      CAPTURE(at);
      std::string damaged = written.bytes;
      damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
      put_bytes(segment, damaged);
      CHECK_THROWS_WITH(decision_log(folder, "d_test").take_records_after(0), refused);
    }
  }
}

TEST_CASE("a newest log segment's last batch torn by a crash is dropped, the batches before kept",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto folder = dir.path() / "log";
  const four_batches written = write_four_batches(folder);
  const auto segment = folder / log_segment::name_for(1);
  const auto opens_with_six = [&] {
    CHECK(seqs_in(decision_log(folder, "d_test").take_records_after(0)) == seqs_from_to(1, 6));
  };

  SECTION("its end frame whole, a middle frame not, nothing after") {
    put_bytes(segment, flipped_in(written.bytes, "record 8"));
    opens_with_six();
  }
  SECTION("followed by zeros, as a file's reserved blocks read") {
    put_bytes(segment, flipped_in(written.bytes, "record 8") + std::string(4096, '\0'));
    opens_with_six();
  }
  SECTION("followed by garbage") {
    std::mt19937 random(29);
    std::string garbage(4096, '\0');
    std::generate(garbage.begin(), garbage.end(), [&] { return static_cast<char>(random()); });
    put_bytes(segment, flipped_in(written.bytes, "record 7") + garbage);
    opens_with_six();
  }
  SECTION("any one byte of it") {
    for (std::size_t at = written.ends[2]; at < written.ends[3]; ++at) {
      CAPTURE(at);
      std::string damaged = written.bytes;
      damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
      put_bytes(segment, damaged);
      opens_with_six();
    }
  }
}

TEST_CASE("a recycled log segment's old frames after its new batches are not taken for damage",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto folder = dir.path() / "log";
  decision_log log(folder, "d_test", /*segment_bytes=*/200);
  // Batches of one record, 42 bytes or so: 1-5 fill the first segment, 6-10 the second.
  for (std::int64_t seq = 1; seq <= 10; ++seq) {
    log.append(seq, "record " + std::to_string(seq));
    log.commit();
  }
  REQUIRE(std::filesystem::exists(folder / log_segment::name_for(6)));
  log.clear_through(5);  // the first segment becomes a spare
  // The next batch writes the spare over from its start: records 1-5's frames follow it, several
  // whole batches of them.
  for (std::int64_t seq = 11; seq <= 13; ++seq) log.append(seq, "record " + std::to_string(seq));
  log.commit();
  const auto segment = folder / log_segment::name_for(11);
  const std::string bytes = bytes_of(segment);
  REQUIRE(bytes.find("record 5") != std::string::npos);

  SECTION("its new batch whole") {
    CHECK(seqs_in(decision_log(folder, "d_test").take_records_after(5)) == seqs_from_to(6, 13));
  }
  SECTION("its new batch torn: no whole batch before the old frames") {
    put_bytes(segment, flipped_in(bytes, "record 12"));
    CHECK(seqs_in(decision_log(folder, "d_test").take_records_after(5)) == seqs_from_to(6, 10));
  }
}

TEST_CASE("a store whose newest log segment lost confirmed batches to damage is not opened",
          "[sqlite_store][decision_log]") {
  using namespace sqlite_test;
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  const auto copy = dir.path() / "crashed.db";
  {
    // Four batches only in the log, as a crash leaves them (the folder folds on demand only).
    auto store = open_unfolded(file);
    for (const char* id : {"alice", "bob", "carol", "dave"})
      REQUIRE(store->commit({created(new_user(id))})[0] == commit_status::committed);
    std::filesystem::copy_file(file, copy);
    std::filesystem::copy_file(file.string() + "-wal", copy.string() + "-wal");
    std::filesystem::copy(log_of(file), log_of(copy));
  }
  const auto segment = segments_of(copy).at(0);
  const std::string bytes = bytes_of(segment);

  SECTION("bob's batch damaged, carol's and dave's whole after it") {
    put_bytes(segment, flipped_in(bytes, "bob"));
    CHECK_THROWS_WITH(sqlite_store::open(copy),
                      Catch::Contains("'" + segment.string() + "' is damaged"));
  }
  SECTION("its header zeroed") {
    put_bytes(segment, std::string(64, '\0') + bytes.substr(64));
    CHECK_THROWS_AS(sqlite_store::open(copy), store_unavailable);
  }
  SECTION("dave's batch, the last, torn by a crash") {
    put_bytes(segment, flipped_in(bytes, "dave"));
    auto store = sqlite_store::open(copy);
    auto ids = store->user_ids();
    std::sort(ids.begin(), ids.end());
    CHECK(ids == std::vector<std::string>{"alice", "bob", "carol"});
  }
}

}  // namespace streamgate::log_damage_test
