#pragma once

// The SQLite store's decision log (docs/design.md §8): a folder beside the tables
// (`<store file>-decisions`) of segment files (log_segment.hpp), written by the worker's thread
// only. A batch's records (log_record.hpp) are appended to the newest segment in one write,
// synced before commit() returns, so a verdict published after it survives a crash or a power
// loss. The log folder (log_folder.hpp) applies them to the tables on a thread of its own, and a
// segment whose records the tables all hold is kept as a spare (`spare-<name>`, at most two) for
// a later segment to write over, or deleted. Apart from the tables because SQLite lets
// one connection write a file at a time: folding thousands of records in one transaction (a page
// written once for all of them) would hold up every batch meanwhile.
//
// Each record has a seq, given by the store in commit order and never given again: the tables
// remember the last one they hold, so what a crash left in the log is applied once.
// Each segment names its dataset (the tables' meta dataset_id): a log never meets other tables.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "worker/store/sqlite/log_segment.hpp"

namespace streamgate {

class decision_log final {
 public:
  // A new segment once the newest holds this much: a segment goes once the tables hold all of it.
  static constexpr std::uintmax_t default_segment_bytes = 8 << 20;
  static constexpr std::size_t max_spares = 2;

  // The log beside the tables file `store_path`.
  static std::filesystem::path path_beside(const std::filesystem::path& store_path);

  // Opens or creates the log of dataset `dataset_id` and reads what it holds. Throws
  // store_unavailable when it cannot, or when a segment holds records of another dataset (one
  // with none is anyone's).
  decision_log(const std::filesystem::path& path, const std::string& dataset_id,
               std::uintmax_t segment_bytes = default_segment_bytes);

  const std::filesystem::path& path() const { return path_; }

  // Hands over the records found at open after seq `after`, oldest first, and forgets the rest;
  // and the last seq the log has held (0: none). The store numbers its records without a gap, so
  // a gap after `after` (the last the tables hold) is a segment damaged before its end:
  // store_unavailable, and nothing is handed over. Only the newest may end in a batch a crash
  // cut short; a segment whose damage lost records it confirmed (log_segment::scan) after
  // `after` is refused too, naming it, gap or not.
  std::vector<logged_record> take_records_after(std::int64_t after);
  std::int64_t last_seq() const { return last_seq_; }

  // A batch: its appends are written and synced by commit(), dropped by rollback().
  void append(std::int64_t seq, std::string_view bytes);
  void commit();
  void rollback();
  // Deletes the segments whose records are all at or before `seq` (the tables hold them).
  void clear_through(std::int64_t seq);
  // Throws store_lost when the newest segment was deleted, replaced or written by another.
  void check_own() const;

 private:
  struct closed_segment {
    std::filesystem::path path;
    std::int64_t last_seq = 0;  // 0: it holds none
  };
  struct damaged_segment {
    std::filesystem::path path;
    std::int64_t from = 0;  // the seqs it lost (scanned_segment)
    std::int64_t through = 0;
  };
  // Throws store_unavailable when a damaged segment lost records after `after`.
  void refuse_lost_after(std::int64_t after) const;
  // Makes a segment file whose records the tables hold a spare, or deletes it; false when neither
  // could be done (tried again later).
  bool retire(const std::filesystem::path& file);

  std::filesystem::path path_;
  std::string dataset_id_;
  std::uintmax_t segment_bytes_;
  std::vector<logged_record> found_;      // at open, until taken
  std::vector<damaged_segment> damaged_;  // at open
  std::int64_t last_seq_ = 0;
  std::vector<closed_segment> closed_;  // oldest first
  std::vector<std::filesystem::path> spares_;
  std::unique_ptr<log_segment> newest_;
  std::int64_t newest_last_seq_ = 0;
  std::int64_t batch_last_seq_ = 0;  // 0: no append since the last commit or rollback
};

}  // namespace streamgate
