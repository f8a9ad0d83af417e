#pragma once

// Each user's number of rows in one of the SQLite store's per-user tables (its starts, its audit
// lines), which the table writer needs to know when a user outgrew its cap without counting at
// every commit (table_writer.hpp). Read through: a user not known yet is counted in the table,
// one count over its index range (at most a cap and an eighth of rows). Bounded: past
// `most_users` counts, all of them are forgotten after a commit, so the folding thread's memory
// does not follow every user ever stored (docs/design.md §10); it costs the next folds one count
// for each user they touch again.
//
// Used inside the table writer's transactions: of() before the transaction changes the user's
// rows (a count made after would see them), stage() as the transaction leaves them; apply()
// keeps the staged counts once COMMIT succeeded, discard() drops them otherwise.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "worker/store/sqlite/handle.hpp"

namespace streamgate {

class row_counts final {
 public:
  // `count_sql` counts the rows of user ?1.
  row_counts(const sqlite_db& db, std::string_view count_sql, std::size_t most_users);

  // As the transaction in progress left it, else as known, else counted now.
  std::size_t of(const std::string& user_id);
  // The same without counting: nothing when not known.
  std::optional<std::size_t> known(const std::string& user_id) const;
  void stage(const std::string& user_id, std::size_t rows);
  void apply();
  void discard() { staged_.clear(); }

  std::size_t users_known() const { return known_.size(); }

 private:
  sqlite_statement count_;
  const std::size_t most_users_;
  std::unordered_map<std::string, std::size_t> known_;
  std::unordered_map<std::string, std::size_t> staged_;
};

}  // namespace streamgate
