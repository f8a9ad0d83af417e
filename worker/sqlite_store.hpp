#pragma once

// The embedded durable store: one SQLite file in WAL mode. The limiter's changes of a whole batch
// are applied in one transaction (group commit), and a committed transaction survives a crash or
// a power loss (synchronous=FULL), so a verdict published after commit() is never lost.
// The store knows no limiter: it saves changes and returns rows.

#include <filesystem>
#include <vector>

#include "common/domain.hpp"
#include "worker/request_handler.hpp"
#include "worker/sqlite_handle.hpp"
#include "worker/stream_limiter.hpp"

namespace streamgate {

// Everything the store holds, in the order the limiter wants to load it.
struct stored_state {
  std::vector<user> users;        // by id
  std::vector<video> videos;      // by id
  std::vector<stream> streams;    // oldest first
  std::vector<verdict> verdicts;  // oldest decision first
};

class sqlite_store final : public audit_reader {
 public:
  // Creates the parent directory, the file and the schema when absent. Throws sqlite_error, or
  // std::filesystem::filesystem_error for the directory.
  static sqlite_store open(const std::filesystem::path& path);

  stored_state load() const;
  // Whether users or videos were ever saved: the demo catalog is loaded into an empty store only.
  bool has_catalog() const;
  // Applies the changes in order, all or none, in one transaction. Throws on failure; nothing of
  // the batch is stored then. An empty batch costs nothing.
  void commit(const std::vector<change>& changes);
  // The same, with the batch's audit entries written in the same transaction, so a decision and
  // its audit line are durable together or not at all.
  void commit(const std::vector<change>& changes, const std::vector<audit_entry>& audit);

  std::vector<audit_entry> recent_audit(const std::string& user_id, int limit) const override;

 private:
  explicit sqlite_store(sqlite_db db);
  void apply(const stream_saved& c);
  void apply(const stream_removed& c);
  void apply(const verdict_saved& c);
  void apply(const verdict_forgotten& c);
  void apply(const user_saved& c);
  void apply(const video_saved& c);
  void apply(const audit_entry& e);

  // Declared first so that the statements are finalized before the connection closes.
  sqlite_db db_;
  sqlite_statement begin_;
  sqlite_statement commit_;
  sqlite_statement rollback_;
  sqlite_statement upsert_user_;
  sqlite_statement upsert_video_;
  sqlite_statement upsert_stream_;
  sqlite_statement delete_stream_;
  sqlite_statement upsert_verdict_;
  sqlite_statement delete_verdict_;
  sqlite_statement insert_audit_;
  mutable sqlite_statement select_audit_;
};

}  // namespace streamgate
