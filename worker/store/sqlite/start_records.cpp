#include "worker/store/sqlite/start_records.hpp"

#include "worker/store/state_codec.hpp"

namespace streamgate {

namespace {

// Appended in decision order per user, and fold after fold (a fold writes user by user,
// table_writer::apply_all), so the rowid is the order of a user's starts (through starts_by_user)
// and of all starts by age give or take a fold's window (the table's own b-tree, for pruning:
// a start of the last fold not yet past the memory window holds a step up that long at most).
// The start is encode_start's bytes, bound as text and cast like a state (sqlite_schema.hpp); its
// request id and time are columns too, for the index and for pruning without decoding.
constexpr const char* create_sql = R"sql(
  CREATE TABLE starts (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    decided_at_ms INTEGER NOT NULL,
    start BLOB NOT NULL
  );
  CREATE INDEX starts_by_user ON starts (user_id, id);
)sql";

constexpr const char* insert_sql =
    "INSERT INTO starts (user_id, request_id, decided_at_ms, start) "
    "VALUES (?1, ?2, ?3, CAST(?4 AS BLOB))";

// An eighth over the floor before a trim, as the decision core trims, and the audit trail.
constexpr std::size_t rows_kept = core::remembered_starts_per_user;
constexpr std::size_t trim_at = core::most_remembered_starts;

void bind_start(sqlite_statement& insert, const std::string& user_id,
                const core::remembered_start& s, const std::string& bytes) {
  insert.bind(1, user_id);
  insert.bind(2, s.request_id);
  insert.bind(3, s.decided_at_ms);
  insert.bind(4, bytes);
}

}  // namespace

void start_records::create_table(const sqlite_db& db) { db.exec(create_sql); }

void start_records::insert_legacy(const sqlite_db& db, const std::string& user_id,
                                  const std::vector<core::remembered_start>& starts) {
  sqlite_statement insert(db, insert_sql);
  for (const core::remembered_start& s : starts) {
    const std::string bytes = encode_start(s);
    bind_start(insert, user_id, s, bytes);
    insert.execute();
  }
}

start_records::start_records(const sqlite_db& db, std::int64_t request_memory_ms,
                             std::size_t counted_users)
    : request_memory_ms_(request_memory_ms),
      rows_(db, "SELECT count(*) FROM starts WHERE user_id = ?1", counted_users),
      insert_(db, insert_sql),
      // Through starts_by_user: the rows_kept-th newest id in one descent and a short walk.
      trim_(db,
            "DELETE FROM starts WHERE user_id = ?1 AND id < (SELECT id FROM starts "
            "WHERE user_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2) RETURNING request_id"),
      delete_of_user_(db, "DELETE FROM starts WHERE user_id = ?1 RETURNING request_id"),
      // Looks at the oldest `max` rows only, so a step stays short however many rows there are.
      prune_(db,
             "DELETE FROM starts WHERE id IN (SELECT id FROM starts ORDER BY id LIMIT ?2) "
             "AND decided_at_ms <= ?1 RETURNING request_id, user_id") {}

void start_records::stage_add(const std::string& user_id,
                              const std::vector<core::remembered_start>& starts) {
  if (starts.empty()) return;
  std::size_t rows = rows_.of(user_id) + starts.size();
  for (const core::remembered_start& s : starts) {
    const std::string bytes = encode_start(s);
    bind_start(insert_, user_id, s, bytes);
    insert_.execute();
  }
  if (rows > trim_at) {
    trim_.bind(1, user_id);
    trim_.bind(2, static_cast<std::int64_t>(rows_kept - 1));
    while (trim_.next_row()) {
      gone_.push_back({std::string(trim_.column_text(0)), user_id});
      --rows;
    }
  }
  rows_.stage(user_id, rows);
}

void start_records::stage_remove_user(const std::string& user_id) {
  delete_of_user_.bind(1, user_id);
  while (delete_of_user_.next_row())
    gone_.push_back({std::string(delete_of_user_.column_text(0)), user_id});
  rows_.stage(user_id, 0);
}

std::size_t start_records::stage_prune(std::int64_t now_ms, std::size_t max) {
  if (max == 0) return 0;
  std::size_t pruned = 0;
  prune_.bind(1, now_ms - request_memory_ms_);
  prune_.bind(2, static_cast<std::int64_t>(max));
  while (prune_.next_row()) {
    const std::string user_id(prune_.column_text(1));
    gone_.push_back({std::string(prune_.column_text(0)), user_id});
    // A user not counted yet is counted when next needed, without this row.
    if (const auto rows = rows_.known(user_id)) rows_.stage(user_id, *rows > 0 ? *rows - 1 : 0);
    ++pruned;
  }
  return pruned;
}

void start_records::apply(std::vector<request_gone>& gone) {
  for (request_gone& g : gone_) gone.push_back(std::move(g));
  gone_.clear();
  rows_.apply();
}

void start_records::discard() {
  gone_.clear();
  rows_.discard();
}

}  // namespace streamgate
