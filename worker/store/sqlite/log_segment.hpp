#pragma once

// One file of the SQLite store's decision log (decision_log.hpp, docs/design.md §8): a plain file
// the worker's thread appends to, a batch at a time, each batch one write and one fdatasync. Not
// an SQLite file: a batch's transaction there cost the worker's thread about 14 WAL frames (two
// writes each), their later copy into the file and a B-tree's upkeep, where a log needs an
// append (bench/HISTORY.md, session 29).
//
// Layout, little-endian: a header ("SGDLOG1\n", the length and bytes of its dataset's id, a CRC-32
// of those), then frames: the length of a body (u32), its CRC-32 (u32), the body: a kind (1 a
// record, 2 the end of a batch), a seq (i64), and for a record its bytes (encode_log_record's).
// A batch ends with its end frame, so a batch a crash cut short (a write not synced, pages
// written out of order) is found by the first frame that does not check, and its records are
// not read back: they were never confirmed (the store publishes after the sync).
//
// Only the last batch can be cut short: a batch is written once the sync of the one before
// returned. So past the first frame that does not check (or a header that does not), the scan
// searches on for frames; frames of more than one batch there mean that the batch at the bad
// spot had been confirmed, and the segment is damaged, not torn (docs/design.md §8).
//
// A segment's file is used again once the tables hold its records (decision_log.hpp): it is
// renamed and written over from its start, since writing over blocks a file has written costs
// the worker's thread less than an append (bench/HISTORY.md, session 29). What it held before
// is numbered below its new name's seq, so a scan stops at the first such frame, and its search
// skips them.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamgate {

struct logged_record {
  std::int64_t seq = 0;
  std::string bytes;  // encode_log_record's
};

// What a segment holds as far as it holds whole batches.
struct scanned_segment {
  bool header_whole = false;
  std::string dataset_id;
  std::vector<logged_record> records;
  std::uintmax_t whole_through = 0;  // the offset where its last whole batch ends
  std::uintmax_t file_size = 0;
  // When it is damaged: the seqs past its whole batches up to the greatest of the frames found
  // past them, which it may have confirmed and cannot give back. 0: none.
  std::int64_t damaged_from = 0;
  std::int64_t damaged_through = 0;
};

class log_segment final {
 public:
  // A segment's file name: its first seq in 20 digits, so names sort in seq order.
  static std::string name_for(std::int64_t first_seq);
  // The first seq a segment's file name gives, 0 for a name no segment has.
  static std::int64_t first_seq_of(const std::string& name);
  // Reads it as far as it holds whole batches numbered from its name's first seq on, and tells
  // whether it is damaged past them. Throws store_unavailable when the file cannot be read.
  static scanned_segment scan(const std::filesystem::path& path);

  // A segment in the file `path`: created (it must not exist) with room for `reserve_bytes`, or
  // `recycled` (an older segment's file, renamed to `path`) and written over from its start. Its
  // header is written by the first sync(), which makes it durable, the folder's entry included.
  // Throws store_unavailable.
  log_segment(std::filesystem::path path, const std::string& dataset_id,
              std::uintmax_t reserve_bytes, bool recycled);
  ~log_segment();
  log_segment(const log_segment&) = delete;
  log_segment& operator=(const log_segment&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::uintmax_t size() const { return size_; }
  bool has_pending() const { return !pending_.empty(); }

  // Frames kept in memory until sync().
  void add_record(std::int64_t seq, std::string_view bytes);
  void end_batch(std::int64_t seq);
  void drop_pending();
  // Writes what is pending and syncs it. On failure the file is cut back to what was synced and
  // store_unavailable thrown; when even that fails, store_lost (the file can take no more).
  void sync();
  // Throws store_lost when the file was deleted or replaced, or written by anyone else.
  void check_own() const;

 private:
  void add_frame(char kind, std::int64_t seq, std::string_view bytes);
  void sync_folder() const;
  void write_at(std::string_view bytes, std::uintmax_t offset);

  std::filesystem::path path_;
  int fd_ = -1;
  std::uintmax_t size_ = 0;      // written and synced by this object, from the file's start
  std::uintmax_t old_size_ = 0;  // what the file held before (recycled)
  bool folder_synced_ = false;
  bool broken_ = false;
  std::string header_;   // written with the first batch
  std::string pending_;  // frames not written yet
};

}  // namespace streamgate
