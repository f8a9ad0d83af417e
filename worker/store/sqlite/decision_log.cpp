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
  for (const auto& entry : std::filesystem::directory_iterator(path_))
    if (log_segment::is_segment_name(entry.path().filename().string()))
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());

  for (std::size_t i = 0; i < files.size(); ++i) {
    scanned_segment s = log_segment::scan(files[i]);
    const bool newest = i + 1 == files.size();
    // Only the newest segment can end in a batch a crash cut short, or lack its header (a crash
    // right after it was made): an older one was whole when the next was made.
    if (!newest && s.whole_through != s.file_size)
      throw store_unavailable("the decision log file '" + files[i].string() +
                              "' is damaged at byte " + std::to_string(s.whole_through));
    if (!s.records.empty() && s.dataset_id != dataset_id_)
      throw store_unavailable("the decision log '" + path_.string() +
                              "' holds records of dataset '" + s.dataset_id +
                              "', not of the tables' dataset '" + dataset_id_ + "'");
    if (!s.records.empty() && s.records.front().seq <= last_seq_)
      throw store_unavailable("the decision log file '" + files[i].string() +
                              "' repeats records of an older one");
    const std::int64_t last = s.records.empty() ? 0 : s.records.back().seq;
    if (last != 0) last_seq_ = last;
    std::move(s.records.begin(), s.records.end(), std::back_inserter(found_));
    closed_.push_back({files[i], last});
  }
}

std::vector<logged_record> decision_log::records_after(std::int64_t after) const {
  std::vector<logged_record> records;
  for (const logged_record& r : found_)
    if (r.seq > after) records.push_back(r);
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
      newest_ = std::make_unique<log_segment>(path_ / log_segment::name_for(seq), dataset_id_,
                                              segment_bytes_);
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

void decision_log::clear_through(std::int64_t seq) {
  // A deletion a crash undoes only brings back records the tables hold: no sync needed.
  const auto remove = [](const std::filesystem::path& file) {
    std::error_code error;
    std::filesystem::remove(file, error);
    if (error)
      spdlog::warn("cannot delete the folded decision log file '{}' (tried again later): {}",
                   file.string(), error.message());
    return !error;
  };
  closed_.erase(
      std::remove_if(closed_.begin(), closed_.end(),
                     [&](const closed_segment& c) { return c.last_seq <= seq && remove(c.path); }),
      closed_.end());
  if (newest_ && batch_last_seq_ == 0 && newest_->size() > 0 && newest_last_seq_ <= seq) {
    // What another writer appended would go unseen with it.
    newest_->check_own();
    if (remove(newest_->path())) newest_.reset();
  }
}

void decision_log::check_own() const {
  if (newest_) newest_->check_own();
}

}  // namespace streamgate
