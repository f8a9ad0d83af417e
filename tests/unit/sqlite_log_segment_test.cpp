// The SQLite store's decision log on disk (worker/store/sqlite/log_segment.hpp, decision_log.hpp,
// docs/design.md §8): what a crash or a damaged byte leaves is read back as whole batches only,
// segments follow one another and go once folded, and a damaged older segment is refused.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/unit/child_process.hpp"
#include "tests/unit/temp_dir.hpp"
#include "worker/store/sqlite/decision_log.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

namespace {

// The segments, oldest first, and the spares.
std::vector<std::filesystem::path> segments_in(const std::filesystem::path& log) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(log))
    if (log_segment::first_seq_of(entry.path().filename().string()) > 0)
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::filesystem::path> spares_in(const std::filesystem::path& log) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(log))
    if (log_segment::first_seq_of(entry.path().filename().string()) == 0)
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

std::vector<std::int64_t> seqs_of(const std::vector<logged_record>& records) {
  std::vector<std::int64_t> seqs;
  for (const logged_record& r : records) seqs.push_back(r.seq);
  return seqs;
}

// Batches of records 1-2, 3, 4-6, each synced, in one segment; the size of the file after each.
std::vector<std::uintmax_t> three_batches(decision_log& log) {
  std::vector<std::uintmax_t> ends;
  std::int64_t seq = 0;
  for (int size : {2, 1, 3}) {
    for (int i = 0; i < size; ++i) {
      ++seq;
      log.append(seq, "record " + std::to_string(seq));
    }
    log.commit();
    ends.push_back(std::filesystem::file_size(segments_in(log.path()).back()));
  }
  return ends;
}

}  // namespace

TEST_CASE("a log segment cut short or damaged anywhere reads back as its whole batches before",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  decision_log log(dir.path() / "log", "d_test");
  const std::vector<std::uintmax_t> ends = three_batches(log);
  const auto segment = segments_in(log.path()).at(0);
  const std::string bytes = read_all(segment);
  REQUIRE(bytes.size() == ends.back());
  const std::vector<std::vector<std::int64_t>> whole = {{}, {1, 2}, {1, 2, 3}, {1, 2, 3, 4, 5, 6}};
  // The batches wholly before `offset`.
  const auto batches_before = [&](std::size_t offset) {
    std::size_t n = 0;
    while (n < ends.size() && ends[n] <= offset) ++n;
    return whole[n];
  };
  const auto copy = dir.path() / "copy.log";

  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    CAPTURE(cut);
    write_all(copy, bytes.substr(0, cut));
    const scanned_segment s = log_segment::scan(copy);
    CHECK(seqs_of(s.records) == batches_before(cut));
    CHECK(s.file_size == cut);
    if (s.header_whole) CHECK(s.dataset_id == "d_test");
  }
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    CAPTURE(at);
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    write_all(copy, damaged);
    const scanned_segment s = log_segment::scan(copy);
    CHECK(seqs_of(s.records) == batches_before(at));
    CHECK(s.whole_through < s.file_size);
  }
  // Read back whole, with the records' bytes.
  const scanned_segment s = log_segment::scan(segment);
  REQUIRE(s.records.size() == 6);
  CHECK(s.records[3].bytes == "record 4");
  CHECK(s.whole_through == s.file_size);
}

TEST_CASE("frames a spare held before it was written over are not read as the new segment's",
          "[sqlite_store][decision_log]") {
  // A spare is written over from its start (log_segment.hpp), so the old file's frames follow
  // the new ones, whole and with good CRCs when the new ones happen to end on an old boundary.
  // Frames as log_segment.hpp lays them out: the header is the magic (8 bytes), the id's length
  // (4), the id and a CRC (4); an end frame is a length and a CRC (8), a kind and a seq (9).
  const std::size_t header_size = 8 + 4 + std::string("d_test").size() + 4;
  const std::size_t end_frame_size = 8 + 9;
  test::temp_dir dir;
  std::string old_frames;  // the batch of records 1-2
  {
    decision_log log(dir.path() / "old", "d_test");
    log.append(1, "record 1");
    log.append(2, "record 2");
    log.commit();
    old_frames = read_all(segments_in(log.path()).at(0)).substr(header_size);
  }
  std::string header, new_frames;  // the batch of record 4
  {
    decision_log log(dir.path() / "new", "d_test");
    log.append(4, "record 4");
    log.commit();
    const std::string bytes = read_all(segments_in(log.path()).at(0));
    header = bytes.substr(0, header_size);
    new_frames = bytes.substr(header_size);
  }
  const auto file = dir.path() / log_segment::name_for(4);

  SECTION("after a whole batch, the old records, numbered below it, are not read") {
    write_all(file, header + new_frames + old_frames);
    CHECK(seqs_of(log_segment::scan(file).records) == std::vector<std::int64_t>{4});
  }
  SECTION("an old batch's end does not end a new batch a crash cut short") {
    const std::string cut_short = new_frames.substr(0, new_frames.size() - end_frame_size);
    write_all(file, header + cut_short + old_frames.substr(old_frames.size() - end_frame_size));
    CHECK(log_segment::scan(file).records.empty());
  }
}

TEST_CASE("the log starts a segment once the newest is full, keeps folded ones as spares, reopens",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto path = dir.path() / "log";
  {
    decision_log log(path, "d_test", /*segment_bytes=*/64);
    three_batches(log);
    // Each batch but the first began past 64 bytes: a segment each, named by its first seq.
    const auto files = segments_in(path);
    REQUIRE(files.size() == 3);
    CHECK(files[0].filename() == log_segment::name_for(1));
    CHECK(files[1].filename() == log_segment::name_for(3));
    CHECK(files[2].filename() == log_segment::name_for(4));
    // The tables hold 1-3: the first two segments become spares, the newest stays.
    log.clear_through(3);
    CHECK(segments_in(path).size() == 1);
    CHECK(spares_in(path).size() == 2);
    log.clear_through(5);  // not all of the newest
    CHECK(segments_in(path).size() == 1);
    // A batch rolled back writes nothing, and a segment it made goes with it.
    log.append(7, "record 7");
    log.rollback();
    CHECK(seqs_of(log_segment::scan(segments_in(path).back()).records) ==
          std::vector<std::int64_t>{4, 5, 6});
    CHECK(spares_in(path).size() == 1);
  }
  {
    decision_log log(path, "d_test", 64);
    CHECK(log.last_seq() == 6);
    // The tables hold 3 or more, as the store checks: records from 1 on are not all here.
    CHECK_THROWS_WITH(log.take_records_after(0), Catch::Contains("lacks records 1 to 3"));
    CHECK(seqs_of(decision_log(path, "d_test", 64).take_records_after(4)) ==
          std::vector<std::int64_t>{5, 6});
    CHECK(seqs_of(log.take_records_after(3)) == std::vector<std::int64_t>{4, 5, 6});
    // A spare written over: what it held before is numbered below its new name.
    log.append(7, "record 7");
    log.commit();
    CHECK(spares_in(path).empty());
    CHECK(seqs_of(log_segment::scan(segments_in(path).back()).records) ==
          std::vector<std::int64_t>{7});
    log.clear_through(6);
    log.append(8, "record 8");
    log.commit();
    CHECK(seqs_of(log_segment::scan(segments_in(path).back()).records) ==
          std::vector<std::int64_t>{8});
  }
  {
    decision_log log(path, "d_test", 64);
    CHECK(seqs_of(log.take_records_after(6)) == std::vector<std::int64_t>{7, 8});
    log.clear_through(8);  // everything: the newest goes too
    CHECK(segments_in(path).empty());
    CHECK(spares_in(path).size() == decision_log::max_spares);
  }
  decision_log log(path, "d_other");  // an empty log is anyone's
  CHECK(log.last_seq() == 0);
}

TEST_CASE("a log missing records before its newest segment is refused, naming them",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto path = dir.path() / "log";
  {
    decision_log log(path, "d_test", 64);
    three_batches(log);
  }
  const auto older = segments_in(path).at(1);  // record 3
  std::string bytes = read_all(older);
  bytes.back() = static_cast<char>(bytes.back() ^ 1);
  write_all(older, bytes);
  {
    decision_log log(path, "d_test");
    CHECK_THROWS_WITH(log.take_records_after(0),
                      Catch::Contains("lacks records 3 to 3") && Catch::Contains("is damaged"));
    CHECK(seqs_of(log.take_records_after(3)) == std::vector<std::int64_t>{4, 5, 6});
  }
  // The newest may end damaged: a crash during its last write. Its whole batches are read.
  std::filesystem::remove(older);
  const auto newest = segments_in(path).back();
  const std::string last = read_all(newest);
  write_all(newest, last.substr(0, last.size() - 1));
  decision_log log(path, "d_test");
  CHECK(seqs_of(log.take_records_after(0)) == std::vector<std::int64_t>{1, 2});
}

TEST_CASE("an append that fails is cut off again: the batch is refused, the log goes on whole",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto path = dir.path() / "log";
  // A file size limit makes the second batch's write fail half done (EFBIG); set in a child,
  // whose limit goes with it. The child's exit code says which check did not hold.
  const int code = test::exit_code_in_child([&] {
    std::signal(SIGXFSZ, SIG_IGN);  // the write fails instead of killing the process
    decision_log log(path, "d_test");
    log.append(1, "record 1");
    log.commit();
    const auto segment = segments_in(path).at(0);
    const auto synced = std::filesystem::file_size(segment);
    rlimit limit{};
    ::getrlimit(RLIMIT_FSIZE, &limit);
    const rlimit before = limit;
    limit.rlim_cur = synced + 16;
    ::setrlimit(RLIMIT_FSIZE, &limit);
    log.append(2, std::string(4096, 'x'));
    try {
      log.commit();
      return 2;
    } catch (const store_unavailable&) {
    }
    if (std::filesystem::file_size(segment) != synced) return 3;
    ::setrlimit(RLIMIT_FSIZE, &before);
    // The store numbers the next batch as the one refused.
    log.append(2, "record 2");
    log.commit();
    if (seqs_of(decision_log(path, "d_test").take_records_after(0)) !=
        std::vector<std::int64_t>{1, 2})
      return 4;
    return 0;
  });
  CHECK(code == 0);
}

TEST_CASE("a log segment written by another process stops the next commit",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  decision_log log(dir.path() / "log", "d_test");
  three_batches(log);
  const auto segment = segments_in(log.path()).at(0);
  SECTION("appended to") {
    std::ofstream(segment, std::ios::binary | std::ios::app) << 'x';
    CHECK_THROWS_WITH(log.check_own(), Catch::Contains("another process wrote"));
  }
  SECTION("deleted") {
    std::filesystem::remove(segment);
    CHECK_THROWS_WITH(log.check_own(), Catch::Contains("was deleted or replaced"));
  }
  SECTION("replaced") {
    const std::string bytes = read_all(segment);
    std::filesystem::remove(segment);
    write_all(segment, bytes);
    CHECK_THROWS_AS(log.check_own(), store_lost);
  }
}

TEST_CASE("a log folder that cannot be searched leaves its segment unchecked, not lost",
          "[sqlite_store][decision_log]") {
  // Root searches any folder, so the log is a user's without that right (a black-box probe's
  // chmod 644 made the worker exit with "deleted or replaced").
  test::temp_dir dir;
  const auto folder = dir.path() / "theirs";
  std::filesystem::create_directories(folder);
  const bool root = ::geteuid() == 0;
  if (root) REQUIRE(::chown(folder.c_str(), 65534, 65534) == 0);
  const int code = test::exit_code_in_child([&] {
    if (root && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 4;
    decision_log log(folder / "log", "d_test");
    three_batches(log);
    std::filesystem::permissions(
        folder / "log", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    try {
      log.check_own();
      return 1;
    } catch (const store_unavailable& e) {
      if (std::string(e.what()).find("cannot check the decision log file") == std::string::npos)
        return 2;
    } catch (const store_lost&) {
      return 3;
    }
    std::filesystem::permissions(folder / "log", std::filesystem::perms::owner_all);
    log.check_own();
    return 0;
  });
  CHECK(code == 0);
}

}  // namespace streamgate
