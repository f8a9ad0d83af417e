// Folding an SQLite store's decision log into its tables (docs/design.md §8): the oldest records,
// in commit order, in one transaction that also deletes them from the log, so a crash leaves
// each record either in the log or in the tables, never both or neither. What a record says is
// applied as it says: the version check was made when it was committed.
//
// A user's state is written once per fold, from its last record in it (a hot user's many
// decisions are one row write); its stream changes, starts and audit lines are all written, in
// order. The per-user caps on starts and audit lines are kept here (start_records::stage_add,
// trim_audit).

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "worker/store/sqlite/log_record.hpp"
#include "worker/store/sqlite/sqlite_schema.hpp"
#include "worker/store/sqlite/sqlite_store.hpp"

namespace streamgate {

namespace {

void bind_optional(sqlite_statement& statement, int index, const std::string& text) {
  if (text.empty())
    statement.bind_null(index);
  else
    statement.bind(index, text);
}

}  // namespace

std::size_t sqlite_store::trim_audit(const std::string& user_id, std::size_t lines) {
  // Slack of an eighth: a user at the cap trims once per cap/8 new lines, not at every commit.
  if (lines <= audit_cap_ + audit_cap_ / 8) return lines;
  trim_audit_.bind(1, user_id);
  trim_audit_.bind(2, static_cast<std::int64_t>(audit_cap_ - 1));
  trim_audit_.execute();
  const auto trimmed = static_cast<std::size_t>(sqlite3_changes(db_.handle()));
  return lines > trimmed ? lines - trimmed : 0;
}

std::int64_t sqlite_store::read_log(std::size_t max_records, std::vector<log_record>& records) {
  std::int64_t last_seq = 0;
  // SQLite reads a negative LIMIT as none.
  read_log_.bind(1, max_records > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
                        ? std::int64_t{-1}
                        : static_cast<std::int64_t>(max_records));
  while (read_log_.next_row()) {
    last_seq = read_log_.column_int(0);
    auto record = decode_log_record(read_log_.column_text(1));
    if (!record) {
      read_log_.reset();
      throw sqlite_error("decision log record " + std::to_string(last_seq) +
                         " cannot be read: " + record.error().message);
    }
    records.push_back(std::move(*record));
  }
  return last_seq;
}

void sqlite_store::apply_stream_changes(const log_record& r) {
  const std::string& id = r.user_id;
  if (r.all_streams) {
    delete_streams_of_user_.bind(1, id);
    delete_streams_of_user_.execute();
  }
  for (const std::string& stream_id : r.ended) {
    delete_stream_.bind(1, id);
    delete_stream_.bind(2, stream_id);
    delete_stream_.execute();
  }
  for (const auto& [stream_id, expires_at_ms] : r.renewed) {
    renew_stream_.bind(1, id);
    renew_stream_.bind(2, stream_id);
    renew_stream_.bind(3, expires_at_ms);
    renew_stream_.execute();
  }
  // Made by this record's commit, in its order: loads sort by (version, rank).
  for (std::size_t rank = 0; rank < r.added.size(); ++rank)
    sqlite_detail::insert_stream(insert_stream_, id, r.added[rank], r.version, rank);
}

void sqlite_store::apply_log_record(const log_record& r, bool last_of_its_user,
                                    std::unordered_map<std::string, std::size_t>& audit_lines) {
  const std::string& id = r.user_id;
  if (r.remove) {
    delete_user_.bind(1, id);
    delete_user_.execute();
    delete_streams_of_user_.bind(1, id);
    delete_streams_of_user_.execute();
    delete_audit_.bind(1, id);
    delete_audit_.execute();
    starts_.stage_remove_user(id);
    audit_lines[id] = 0;
    return;
  }
  if (last_of_its_user) {
    upsert_user_.bind(1, id);
    upsert_user_.bind(2, static_cast<std::int64_t>(r.version));
    upsert_user_.bind(3, r.state);
    upsert_user_.execute();
  }
  apply_stream_changes(r);
  starts_.stage_add(id, r.starts);
  for (const audit_entry& e : r.audit) {
    insert_audit_.bind(1, id);
    insert_audit_.bind(2, e.at_ms);
    insert_audit_.bind(3, e.type);
    bind_optional(insert_audit_, 4, e.stream_id);
    bind_optional(insert_audit_, 5, e.request_id);
    bind_optional(insert_audit_, 6, e.video_id);
    bind_optional(insert_audit_, 7, e.reason);
    insert_audit_.execute();
  }
  if (!r.audit.empty()) {
    const auto staged = audit_lines.find(id);
    const auto counted = audit_lines_of_user_.find(id);
    const std::size_t before = staged != audit_lines.end()             ? staged->second
                               : counted != audit_lines_of_user_.end() ? counted->second
                                                                       : 0;
    audit_lines[id] = trim_audit(id, before + r.audit.size());
  }
}

void sqlite_store::fold_log(std::size_t max_records) {
  // Audit line counts as this fold leaves them, applied only once it is durable.
  std::unordered_map<std::string, std::size_t> audit_lines;
  std::vector<log_record> records;
  const auto fold = [&] {
    audit_lines.clear();
    starts_.discard();
    records.clear();
    const std::int64_t last_seq = read_log(max_records, records);
    std::unordered_map<std::string_view, std::size_t> last_of_user;
    for (std::size_t i = 0; i < records.size(); ++i) last_of_user[records[i].user_id] = i;
    for (std::size_t i = 0; i < records.size(); ++i)
      apply_log_record(records[i], last_of_user[records[i].user_id] == i, audit_lines);
    clear_log_.bind(1, last_seq);
    clear_log_.execute();
  };
  run_in_transaction("fold the decision log", fold, /*synced=*/false);
  starts_.apply();
  for (auto& [user_id, lines] : audit_lines) {
    if (lines == 0)
      audit_lines_of_user_.erase(user_id);
    else
      audit_lines_of_user_[user_id] = lines;
  }
  logged_ -= std::min(logged_, records.size());
  for (const log_record& r : records) {
    const auto user = logged_users_.find(r.user_id);
    // At open the log's users are not counted: the whole log is folded then.
    if (user != logged_users_.end() && --user->second.records == 0) logged_users_.erase(user);
  }
}

}  // namespace streamgate
