#include "worker/store/sqlite/legacy_decision_log.hpp"

#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/sqlite_schema.hpp"
#include "worker/store/store.hpp"

namespace streamgate::legacy_decision_log {

bool exists_at(const std::filesystem::path& path) { return std::filesystem::is_regular_file(path); }

std::vector<logged_record> read(const std::filesystem::path& path, const std::string& dataset_id,
                                std::int64_t after) {
  sqlite_db db(path.string());
  std::vector<logged_record> records;
  {
    sqlite_statement select(db, "SELECT seq, record FROM decision_log WHERE seq > ?1 ORDER BY seq");
    select.bind(1, after);
    while (select.next_row())
      records.push_back({select.column_int(0), std::string(select.column_text(1))});
  }
  std::string owner;
  {
    sqlite_statement select(db, "SELECT value FROM meta WHERE key = ?1");
    select.bind(1, std::string_view(sqlite_detail::dataset_id_key));
    if (select.next_row()) owner = select.column_text(0);
    select.reset();
  }
  // Records of other tables would be applied to these: refused. An empty log is anyone's.
  if (!records.empty() && owner != dataset_id)
    throw store_unavailable("the decision log '" + path.string() + "' holds records of dataset '" +
                            owner + "', not of the tables' dataset '" + dataset_id + "'");
  return records;
}

void remove(const std::filesystem::path& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

}  // namespace streamgate::legacy_decision_log
