#include "worker/store/sqlite/table_writer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "worker/core/user_state.hpp"
#include "worker/store/sqlite/sqlite_schema.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate {

namespace {

// How many users' counts of starts and of audit lines the folding thread keeps (row_counts.hpp):
// about 100 bytes each. As many as the decider keeps states of users not streaming
// (cache_bounds, worker/server/decider.hpp): a user it reads back costs more than one count.
constexpr std::size_t counted_users = 200'000;

void bind_optional(sqlite_statement& statement, int index, const std::string& text) {
  if (text.empty())
    statement.bind_null(index);
  else
    statement.bind(index, text);
}

sqlite_db open_file(const std::filesystem::path& path) {
  sqlite_db db(path.string());
  sqlite_detail::configure_connection(db);
  // SQLite copies the WAL into the file at the commit that makes it 16,384 pages long (a fold's,
  // on the folder's thread), not at 1,000: a page that many folds rewrite is copied once.
  db.exec("PRAGMA wal_autocheckpoint=16384");
  return db;
}

std::vector<log_record> decode(const std::vector<logged_record>& records) {
  std::vector<log_record> decoded;
  decoded.reserve(records.size());
  for (const logged_record& l : records) {
    auto record = decode_log_record(l.bytes);
    if (!record)
      throw sqlite_error("decision log record " + std::to_string(l.seq) +
                         " cannot be read: " + record.error().message);
    decoded.push_back(std::move(*record));
  }
  return decoded;
}

}  // namespace

table_writer::table_writer(const std::filesystem::path& path, std::size_t audit_lines_per_user,
                           std::int64_t request_memory_ms)
    : path_(path),
      db_(open_file(path)),
      audit_cap_(audit_lines_per_user),
      begin_(db_, "BEGIN IMMEDIATE"),
      commit_(db_, "COMMIT"),
      rollback_(db_, "ROLLBACK"),
      insert_user_(db_, sqlite_detail::insert_user_sql),
      upsert_user_(db_,
                   "INSERT INTO users (id, version, state) VALUES (?1, ?2, CAST(?3 AS BLOB)) "
                   "ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
                   "state = excluded.state"),
      delete_user_(db_, "DELETE FROM users WHERE id = ?1"),
      insert_stream_(db_, sqlite_detail::insert_stream_sql),
      renew_stream_(db_,
                    "UPDATE streams SET expires_at_ms = ?3 WHERE user_id = ?1 AND stream_id = ?2"),
      delete_stream_(db_, "DELETE FROM streams WHERE user_id = ?1 AND stream_id = ?2"),
      delete_streams_of_user_(db_, "DELETE FROM streams WHERE user_id = ?1"),
      delete_audit_(db_, "DELETE FROM audit WHERE user_id = ?1"),
      insert_audit_(db_,
                    "INSERT INTO audit (user_id, at_ms, type, stream_id, request_id, video_id, "
                    "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
      // Ids grow with time from fold to fold (appended, the clock never goes back; within a fold
      // they follow the users' order, apply_all), so the oldest lines are the first ids: looking
      // at the first `max_records` only keeps a step short however long the trail is. A line of
      // the last fold not yet old enough holds the step up for that fold's window at most.
      prune_audit_(db_,
                   "DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id LIMIT ?2) "
                   "AND at_ms < ?1"),
      // Through audit_by_user (user_id, id): the cap-th newest id in one descent and a short
      // walk, then the older lines of that user only.
      trim_audit_(db_,
                  "DELETE FROM audit WHERE user_id = ?1 AND id < (SELECT id FROM audit "
                  "WHERE user_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)"),
      upsert_video_(db_,
                    "INSERT INTO videos (id, title, duration_seconds) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (id) DO UPDATE SET title = excluded.title, "
                    "duration_seconds = excluded.duration_seconds"),
      upsert_plan_(db_,
                   "INSERT INTO plans (id, max_streams, policy) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (id) DO UPDATE SET max_streams = excluded.max_streams, "
                   "policy = excluded.policy"),
      upsert_meta_(db_,
                   "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      select_data_version_(db_, "PRAGMA data_version"),
      sync_full_(db_, "PRAGMA synchronous=FULL"),
      sync_normal_(db_, "PRAGMA synchronous=NORMAL"),
      starts_(db_, request_memory_ms, counted_users),
      audit_lines_(db_, "SELECT count(*) FROM audit WHERE user_id = ?1", counted_users) {
  if (!select_data_version_.next_row()) throw sqlite_error("PRAGMA data_version returned no row");
  data_version_ = select_data_version_.column_int(0);
  select_data_version_.reset();
}

void table_writer::check_file() {
  // Writing on would commit into a file nobody will open again.
  if (db_.moved())
    throw store_lost("the store file '" + path_.string() +
                     "' was deleted or replaced while this worker held it");
  if (!select_data_version_.next_row()) throw sqlite_error("PRAGMA data_version returned no row");
  const std::int64_t now = select_data_version_.column_int(0);
  select_data_version_.reset();
  // The worker's states are the file's only while no one else writes it: folding on would mix
  // another writer's rows with decisions made without them.
  if (now != data_version_)
    throw store_lost("another process wrote the store file '" + path_.string() +
                     "' while this worker held it");
}

void table_writer::run_in_transaction(const std::function<void()>& body, bool synced) {
  check_file();
  // Set before each transaction that needs the other mode, so a fold is synced whatever ran
  // before it, even a prune that failed halfway.
  if (synced != synced_) {
    (synced ? sync_full_ : sync_normal_).execute();
    synced_ = synced;
  }
  begin_.execute();
  try {
    body();
    commit_.execute();
  } catch (...) {
    // A failed COMMIT may have rolled back already; ROLLBACK then fails harmlessly with "no
    // transaction is active", which must not hide the original error.
    try {
      rollback_.execute();
    } catch (const sqlite_error&) {
    }
    starts_.discard();
    audit_lines_.discard();
    throw;
  }
  audit_lines_.apply();
}

std::int64_t table_writer::folded_through() {
  sqlite_statement select(db_, "SELECT value FROM meta WHERE key = ?1");
  select.bind(1, std::string_view(sqlite_detail::folded_through_key));
  if (!select.next_row()) return 0;
  const std::int64_t seq = std::stoll(std::string(select.column_text(0)));
  select.reset();
  return seq;
}

void table_writer::fold(const std::vector<logged_record>& records,
                        std::vector<request_gone>& gone) {
  if (records.empty()) return;
  const std::vector<log_record> decoded = decode(records);
  run_in_transaction([&] {
    apply_all(decoded);
    upsert_meta_.bind(1, std::string_view(sqlite_detail::folded_through_key));
    const std::string through = std::to_string(records.back().seq);
    upsert_meta_.bind(2, through);
    upsert_meta_.execute();
  });
  starts_.apply(gone);
}

void table_writer::fold_log_of_old_schema(std::vector<request_gone>& gone) {
  if (sqlite_detail::read_int(db_,
                              "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                              "AND name = 'decision_log'") == 0)
    return;
  std::vector<logged_record> records;
  {
    sqlite_statement select(db_, "SELECT seq, record FROM decision_log ORDER BY seq");
    while (select.next_row())
      records.push_back({select.column_int(0), std::string(select.column_text(1))});
  }
  const std::vector<log_record> decoded = decode(records);
  run_in_transaction([&] {
    apply_all(decoded);
    db_.exec("DROP TABLE decision_log");
  });
  starts_.apply(gone);
}

std::size_t table_writer::prune(std::int64_t audit_before_ms, std::int64_t now_ms, std::size_t max,
                                std::vector<request_gone>& gone) {
  std::size_t pruned = 0;
  if (max == 0) return pruned;
  run_in_transaction(
      [&] {
        prune_audit_.bind(1, audit_before_ms);
        prune_audit_.bind(2, static_cast<std::int64_t>(max));
        prune_audit_.execute();
        pruned = static_cast<std::size_t>(sqlite3_changes(db_.handle()));
        pruned += starts_.stage_prune(now_ms, max);
      },
      /*synced=*/false);
  starts_.apply(gone);
  return pruned;
}

std::vector<const core::user_state*> table_writer::seed(
    const dataset_catalog& catalog, const std::vector<core::user_state>& users) {
  std::vector<const core::user_state*> inserted;
  run_in_transaction([&] {
    inserted.clear();
    for (const core::user_state& state : users) {
      const std::string bytes = encode_state(state, /*with_streams=*/false);
      insert_user_.bind(1, state.u.id);
      insert_user_.bind(2, bytes);
      insert_user_.execute();
      // A user already stored is never overwritten: it may have changed since it was seeded.
      if (sqlite3_changes(db_.handle()) != 1) continue;
      inserted.push_back(&state);
      for (std::size_t rank = 0; rank < state.streams.size(); ++rank)
        sqlite_detail::insert_stream(insert_stream_, state.u.id, state.streams[rank], 1, rank);
    }
    for (const video& v : catalog.videos) {
      upsert_video_.bind(1, v.id);
      upsert_video_.bind(2, v.title);
      upsert_video_.bind(3, std::int64_t{v.duration_seconds});
      upsert_video_.execute();
    }
    for (const plan& p : catalog.plans) {
      upsert_plan_.bind(1, p.id);
      upsert_plan_.bind(2, std::int64_t{p.max_streams});
      upsert_plan_.bind(3, to_string(p.limit_policy));
      upsert_plan_.execute();
    }
    // Last, in the same transaction: the marker is there only with everything above.
    upsert_meta_.bind(1, std::string_view(sqlite_detail::seeded_key));
    upsert_meta_.bind(2, std::string_view("1"));
    upsert_meta_.execute();
  });
  return inserted;
}

std::size_t table_writer::trim_audit(const std::string& user_id, std::size_t lines) {
  // A user at the cap trims once per cap/8 new lines, not at every commit.
  if (lines <= core::with_slack(audit_cap_)) return lines;
  trim_audit_.bind(1, user_id);
  trim_audit_.bind(2, static_cast<std::int64_t>(audit_cap_ - 1));
  trim_audit_.execute();
  // The user holds its newest audit_cap_ lines now, or fewer: `lines` may overcount, as retention
  // prunes lines unseen here, and counting on from it would trim again at every commit.
  return audit_cap_;
}

void table_writer::write_streams(const std::string& user_id, const fold_streams& streams) {
  if (streams.stored_go()) {
    delete_streams_of_user_.bind(1, user_id);
    delete_streams_of_user_.execute();
  }
  for (const std::string& stream_id : streams.ended()) {
    delete_stream_.bind(1, user_id);
    delete_stream_.bind(2, stream_id);
    delete_stream_.execute();
  }
  streams.each_renewed([&](const std::string& stream_id, std::int64_t expires_at_ms) {
    renew_stream_.bind(1, user_id);
    renew_stream_.bind(2, stream_id);
    renew_stream_.bind(3, expires_at_ms);
    renew_stream_.execute();
  });
  streams.each_made([&](const fold_streams::made& m) {
    sqlite_detail::insert_stream(insert_stream_, user_id, m.s, m.version, m.rank);
  });
}

void table_writer::apply_all(const std::vector<log_record>& records) {
  // In the order of the tables' keys, which all begin with the user id, each user's records in
  // their own order: consecutive writes then land on the same pages.
  std::vector<std::size_t> order(records.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return records[a].user_id < records[b].user_id;
  });
  fold_streams streams;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const log_record& r = records[order[k]];
    const bool last_of_its_user =
        k + 1 == order.size() || records[order[k + 1]].user_id != r.user_id;
    // A removal deletes every stream row of the user: what its records before changed goes too.
    if (r.remove)
      streams = fold_streams{};
    else
      streams.add(r);
    apply(r, last_of_its_user);
    if (last_of_its_user) {
      write_streams(r.user_id, streams);
      streams = fold_streams{};
    }
  }
}

void table_writer::apply(const log_record& r, bool last_of_its_user) {
  const std::string& id = r.user_id;
  if (r.remove) {
    delete_user_.bind(1, id);
    delete_user_.execute();
    delete_streams_of_user_.bind(1, id);
    delete_streams_of_user_.execute();
    delete_audit_.bind(1, id);
    delete_audit_.execute();
    starts_.stage_remove_user(id);
    audit_lines_.stage(id, 0);
    return;
  }
  if (last_of_its_user) {
    upsert_user_.bind(1, id);
    upsert_user_.bind(2, static_cast<std::int64_t>(r.version));
    upsert_user_.bind(3, r.state);
    upsert_user_.execute();
  }
  starts_.stage_add(id, r.starts);
  // Counted, if need be, before this record's lines are in.
  const std::size_t lines = r.audit.empty() ? 0 : audit_lines_.of(id) + r.audit.size();
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
  if (!r.audit.empty()) audit_lines_.stage(id, trim_audit(id, lines));
}

}  // namespace streamgate
