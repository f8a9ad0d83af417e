#include "worker/store/sqlite/decision_log.hpp"

#include "worker/store/sqlite/sqlite_schema.hpp"

namespace streamgate {

namespace {

// seq is given by the store (never reused, unlike a rowid after the last row went).
constexpr const char* create_sql = R"sql(
  CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS decision_log (
    seq INTEGER PRIMARY KEY,
    record BLOB NOT NULL
  );
)sql";

sqlite_db open_file(const std::filesystem::path& path) {
  sqlite_db db(path.string());
  sqlite_detail::configure_connection(db);
  db.exec(create_sql);
  return db;
}

}  // namespace

std::filesystem::path decision_log::path_beside(const std::filesystem::path& store_path) {
  return store_path.string() + "-decisions";
}

decision_log::decision_log(const std::filesystem::path& path, const std::string& dataset_id)
    : path_(path),
      db_(open_file(path)),
      begin_(db_, "BEGIN IMMEDIATE"),
      commit_(db_, "COMMIT"),
      rollback_(db_, "ROLLBACK"),
      append_(db_, "INSERT INTO decision_log (seq, record) VALUES (?1, CAST(?2 AS BLOB))"),
      clear_(db_, "DELETE FROM decision_log WHERE seq <= ?1"),
      data_version_(db_, "PRAGMA data_version") {
  sqlite_statement select(db_, "SELECT value FROM meta WHERE key = ?1");
  select.bind(1, std::string_view(sqlite_detail::dataset_id_key));
  std::string owner;
  if (select.next_row()) {
    owner = select.column_text(0);
    select.reset();
  }
  if (owner == dataset_id) return;
  // Records of other tables would be applied to these: refused. An empty log is anyone's.
  if (!owner.empty() && last_seq() != 0)
    throw sqlite_error("the decision log '" + path_.string() + "' holds records of dataset '" +
                       owner + "', not of the tables' dataset '" + dataset_id + "'");
  sqlite_detail::put_meta(db_, sqlite_detail::dataset_id_key, dataset_id);
}

std::vector<logged_record> decision_log::records_after(std::int64_t after) {
  std::vector<logged_record> records;
  sqlite_statement select(db_, "SELECT seq, record FROM decision_log WHERE seq > ?1 ORDER BY seq");
  select.bind(1, after);
  while (select.next_row())
    records.push_back({select.column_int(0), std::string(select.column_text(1))});
  return records;
}

std::int64_t decision_log::last_seq() {
  return sqlite_detail::read_int(db_, "SELECT coalesce(max(seq), 0) FROM decision_log");
}

void decision_log::append(std::int64_t seq, std::string_view bytes) {
  append_.bind(1, seq);
  append_.bind(2, bytes);
  append_.execute();
}

void decision_log::clear_through(std::int64_t seq) {
  clear_.bind(1, seq);
  clear_.execute();
}

std::int64_t decision_log::data_version() {
  if (!data_version_.next_row()) throw sqlite_error("PRAGMA data_version returned no row");
  const std::int64_t version = data_version_.column_int(0);
  data_version_.reset();
  return version;
}

}  // namespace streamgate
