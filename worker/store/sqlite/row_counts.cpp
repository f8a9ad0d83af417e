#include "worker/store/sqlite/row_counts.hpp"

namespace streamgate {

row_counts::row_counts(const sqlite_db& db, std::string_view count_sql, std::size_t most_users)
    : count_(db, count_sql), most_users_(most_users) {}

std::optional<std::size_t> row_counts::known(const std::string& user_id) const {
  if (const auto staged = staged_.find(user_id); staged != staged_.end()) return staged->second;
  if (const auto counted = known_.find(user_id); counted != known_.end()) return counted->second;
  return std::nullopt;
}

std::size_t row_counts::of(const std::string& user_id) {
  if (const auto rows = known(user_id)) return *rows;
  count_.bind(1, user_id);
  const std::size_t rows = count_.next_row() ? static_cast<std::size_t>(count_.column_int(0)) : 0;
  count_.reset();
  // Staged, not kept: the transaction may still fail, and the next one counts again then.
  staged_[user_id] = rows;
  return rows;
}

void row_counts::stage(const std::string& user_id, std::size_t rows) { staged_[user_id] = rows; }

void row_counts::apply() {
  for (auto& [user_id, rows] : staged_) {
    if (rows == 0)
      known_.erase(user_id);
    else
      known_[user_id] = rows;
  }
  staged_.clear();
  // All at once rather than the least used: a count forgotten costs one indexed count, and this
  // keeps no order of use for every fold to update.
  if (known_.size() > most_users_) known_.clear();
}

}  // namespace streamgate
