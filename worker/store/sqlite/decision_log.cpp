#include "worker/store/sqlite/decision_log.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <system_error>

#include "worker/store/store.hpp"

namespace streamgate {

std::filesystem::path decision_log::path_beside(const std::filesystem::path& store_path) {
  return store_path.string() + "-decisions";
}

decision_log::decision_log(const std::filesystem::path& path, const std::string& dataset_id,
                           std::uintmax_t segment_bytes)
    : path_(path), dataset_id_(dataset_id), segment_bytes_(segment_bytes) {
  std::error_code error;
  std::filesystem::create_directories(path_, error);
  if (error || !std::filesystem::is_directory(path_))
    throw store_unavailable("cannot open the decision log folder '" + path_.string() + "'" +
                            (error ? ": " + error.message() : ""));
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(path_)) {
    const std::string name = entry.path().filename().string();
    if (log_segment::first_seq_of(name) > 0)
      files.push_back(entry.path());
    else if (name.rfind("spare-", 0) == 0)
      spares_.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());

  for (const auto& file : files) {
    scanned_segment s = log_segment::scan(file);
    if (!s.records.empty() && s.dataset_id != dataset_id_)
      throw store_unavailable("the decision log '" + path_.string() +
                              "' holds records of dataset '" + s.dataset_id +
                              "', not of the tables' dataset '" + dataset_id_ + "'");
    const std::int64_t last = s.records.empty() ? 0 : s.records.back().seq;
    if (last != 0) last_seq_ = std::max(last_seq_, last);
    std::move(s.records.begin(), s.records.end(), std::back_inserter(found_));
    if (s.damaged_through != 0) damaged_.push_back({file, s.damaged_from, s.damaged_through});
    closed_.push_back({file, last});
  }
  // In seq order whatever the files' names: a spare written over as a new segment keeps the
  // older segment name it had before it was a spare when a crash came before its new name was
  // synced (its batches then were never confirmed, but are whole and may be applied).
  std::stable_sort(found_.begin(), found_.end(),
                   [](const logged_record& a, const logged_record& b) { return a.seq < b.seq; });
}

void decision_log::refuse_lost_after(std::int64_t after) const {
  // Damage among records the tables hold loses nothing, as a gap among them does not.
  for (const damaged_segment& d : damaged_)
    if (d.through > after)
      throw store_unavailable(
          "the decision log file '" + d.path.string() + "' is damaged: records " +
          std::to_string(std::max(d.from, after + 1)) + " to " + std::to_string(d.through) +
          " cannot be read back, and frames of a later batch show that the "
          "damaged one was confirmed (a crash tears only the last)");
}

std::vector<logged_record> decision_log::take_records_after(std::int64_t after) {
  refuse_lost_after(after);
  const auto first = std::find_if(found_.begin(), found_.end(),
                                  [&](const logged_record& r) { return r.seq > after; });
  std::int64_t expected = after + 1;
  for (auto it = first; it != found_.end(); ++it, ++expected) {
    const logged_record& r = *it;
    if (r.seq < expected)
      throw store_unavailable("the decision log '" + path_.string() + "' holds record " +
                              std::to_string(r.seq) + " twice");
    if (r.seq > expected)
      throw store_unavailable("the decision log '" + path_.string() + "' lacks records " +
                              std::to_string(expected) + " to " + std::to_string(r.seq - 1) +
                              ": a segment holding them is damaged");
  }
  std::vector<logged_record> records(std::make_move_iterator(first),
                                     std::make_move_iterator(found_.end()));
  found_ = {};
  return records;
}

void decision_log::append(std::int64_t seq, std::string_view bytes) {
  if (batch_last_seq_ == 0) {
    // A batch never spans two segments: each ends whole in the one it began in.
    if (newest_ && newest_->size() >= segment_bytes_) {
      closed_.push_back({newest_->path(), newest_last_seq_});
      newest_.reset();
    }
    if (!newest_) {
      // A spare is written over; renamed first, so that its old records are numbered below
      // its new name (log_segment.hpp).
      const auto file = path_ / log_segment::name_for(seq);
      bool recycled = false;
      while (!spares_.empty() && !recycled) {
        std::error_code error;
        std::filesystem::rename(spares_.back(), file, error);
        spares_.pop_back();
        recycled = !error;
      }
      newest_ = std::make_unique<log_segment>(file, dataset_id_, segment_bytes_, recycled);
      newest_last_seq_ = 0;
    }
  }
  newest_->add_record(seq, bytes);
  batch_last_seq_ = seq;
}

void decision_log::commit() {
  if (batch_last_seq_ == 0) return;
  const std::int64_t last = std::exchange(batch_last_seq_, 0);
  newest_->end_batch(last);
  newest_->sync();
  newest_last_seq_ = last;
  last_seq_ = last;
}

void decision_log::rollback() {
  if (std::exchange(batch_last_seq_, 0) == 0) return;
  newest_->drop_pending();
  // A segment this batch made holds nothing yet: it goes too, so that its name is free again.
  if (newest_->size() == 0) {
    std::error_code ignored;
    std::filesystem::remove(newest_->path(), ignored);
    newest_.reset();
  }
}

bool decision_log::retire(const std::filesystem::path& file) {
  // A deletion or rename a crash undoes only brings back records the tables hold: no sync needed.
  std::error_code error;
  if (spares_.size() < max_spares) {
    const auto spare = path_ / ("spare-" + file.filename().string());
    std::filesystem::rename(file, spare, error);
    if (!error) {
      spares_.push_back(spare);
      return true;
    }
  }
  error.clear();
  std::filesystem::remove(file, error);
  if (error)
    spdlog::warn("cannot delete the folded decision log file '{}' (tried again later): {}",
                 file.string(), error.message());
  return !error;
}

void decision_log::clear_through(std::int64_t seq) {
  closed_.erase(
      std::remove_if(closed_.begin(), closed_.end(),
                     [&](const closed_segment& c) { return c.last_seq <= seq && retire(c.path); }),
      closed_.end());
  if (newest_ && batch_last_seq_ == 0 && newest_->size() > 0 && newest_last_seq_ <= seq) {
    // What another writer appended would go unseen with it.
    newest_->check_own();
    const auto file = newest_->path();
    newest_.reset();
    if (!retire(file)) closed_.push_back({file, newest_last_seq_});
  }
}

void decision_log::check_own() const {
  if (newest_) newest_->check_own();
}

}  // namespace streamgate
