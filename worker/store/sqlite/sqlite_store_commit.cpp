// Writing an SQLite store, each call one transaction: seeding, a batch's group commit (states,
// remembered starts, audit lines, each user's audit trimmed to its cap) and pruning. The
// in-memory indexes change only once a transaction is durable.

#include <sqlite3.h>

#include <algorithm>
#include <unordered_map>

#include "worker/core/decisions.hpp"
#include "worker/store/sqlite/sqlite_schema.hpp"
#include "worker/store/sqlite/sqlite_store.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate {

namespace {

void bind_optional(sqlite_statement& statement, int index, const std::string& text) {
  if (text.empty())
    statement.bind_null(index);
  else
    statement.bind(index, text);
}

}  // namespace

template <class Body>
void sqlite_store::run_in_transaction(const char* what, const Body& body) {
  try {
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
      throw;
    }
  } catch (const sqlite_error& e) {
    throw store_unavailable(std::string("cannot ") + what + " in the store '" + path_.string() +
                            "': " + e.what());
  }
}

std::size_t sqlite_store::trim_audit(const std::string& user_id, std::size_t lines) {
  // Slack of an eighth: a user at the cap trims once per cap/8 new lines, not at every commit.
  if (lines <= audit_cap_ + audit_cap_ / 8) return lines;
  trim_audit_.bind(1, user_id);
  trim_audit_.bind(2, static_cast<std::int64_t>(audit_cap_ - 1));
  trim_audit_.execute();
  const auto trimmed = static_cast<std::size_t>(sqlite3_changes(db_.handle()));
  return lines > trimmed ? lines - trimmed : 0;
}

void sqlite_store::seed(const dataset_catalog& catalog,
                        const std::vector<core::user_state>& users) {
  std::vector<const core::user_state*> inserted;
  run_in_transaction("seed the catalog", [&] {
    inserted.clear();
    for (const core::user_state& state : users) {
      const std::string bytes = encode_state(state);
      insert_user_.bind(1, state.u.id);
      insert_user_.bind(2, bytes);
      insert_user_.execute();
      // A user already stored is never overwritten: it may have changed since it was seeded.
      if (sqlite3_changes(db_.handle()) == 1) inserted.push_back(&state);
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
  for (const core::user_state* state : inserted) index(state->u.id, core::next_expiry(*state));
}

std::vector<commit_status> sqlite_store::commit(const std::vector<user_commit>& commits) {
  std::vector<commit_status> statuses(commits.size(), commit_status::conflict);
  if (commits.empty()) return statuses;
  // Audit line counts as this batch leaves them, applied only once it is durable.
  std::unordered_map<std::string, std::size_t> audit_lines;
  run_in_transaction("commit a batch", [&] {
    std::fill(statuses.begin(), statuses.end(), commit_status::conflict);
    audit_lines.clear();
    starts_.discard();
    for (std::size_t i = 0; i < commits.size(); ++i) {
      const user_commit& c = commits[i];
      if (c.remove) {
        delete_user_.bind(1, c.state.u.id);
        delete_user_.bind(2, static_cast<std::int64_t>(c.state.version));
        delete_user_.execute();
        if (sqlite3_changes(db_.handle()) != 1) continue;
        statuses[i] = commit_status::committed;
        delete_audit_.bind(1, c.state.u.id);
        delete_audit_.execute();
        starts_.stage_remove_user(c.state.u.id);
        continue;
      }
      // Bound without a copy: lives until the statement has run.
      const std::string bytes = encode_state(c.state);
      if (c.state.version == 0) {
        insert_user_.bind(1, c.state.u.id);
        insert_user_.bind(2, bytes);
        insert_user_.execute();
      } else {
        update_user_.bind(1, bytes);
        update_user_.bind(2, c.state.u.id);
        update_user_.bind(3, static_cast<std::int64_t>(c.state.version));
        update_user_.execute();
      }
      // No row written: the user exists already (a create) or moved past the version loaded.
      if (sqlite3_changes(db_.handle()) != 1) continue;
      statuses[i] = commit_status::committed;
      starts_.stage_add(c.state.u.id, c.new_starts);
      for (const audit_entry& e : c.audit) {
        insert_audit_.bind(1, e.user_id);
        insert_audit_.bind(2, e.at_ms);
        insert_audit_.bind(3, e.type);
        bind_optional(insert_audit_, 4, e.stream_id);
        bind_optional(insert_audit_, 5, e.request_id);
        bind_optional(insert_audit_, 6, e.video_id);
        bind_optional(insert_audit_, 7, e.reason);
        insert_audit_.execute();
      }
      if (!c.audit.empty()) {
        const std::string& id = c.state.u.id;
        const auto staged = audit_lines.find(id);
        const auto counted = audit_lines_of_user_.find(id);
        const std::size_t before = staged != audit_lines.end()             ? staged->second
                                   : counted != audit_lines_of_user_.end() ? counted->second
                                                                           : 0;
        audit_lines[id] = trim_audit(id, before + c.audit.size());
      }
    }
    // As late as possible before COMMIT, so a file moved during the batch is caught too; the
    // batch is rolled back then.
    check_not_moved();
  });
  // Only once durable: a failed commit leaves the indexes matching the file.
  starts_.apply();
  for (std::size_t i = 0; i < commits.size(); ++i) {
    if (statuses[i] != commit_status::committed) continue;
    if (commits[i].remove)
      unindex(commits[i].state.u.id);
    else
      index(commits[i].state.u.id, commits[i].next_expiry);
  }
  for (auto& [user_id, lines] : audit_lines) audit_lines_of_user_[user_id] = lines;
  return statuses;
}

std::size_t sqlite_store::prune(std::int64_t audit_before_ms, std::size_t max_records) {
  std::size_t pruned = 0;
  if (max_records == 0) return pruned;
  const std::int64_t now = now_ms();
  // Ids grow with time (appended, the clock never goes back), so the oldest lines are the first
  // ids: looking at the first `max_records` only keeps a call short however long the trail is.
  run_in_transaction("prune the audit trail and the remembered starts", [&] {
    starts_.discard();
    sqlite_statement prune(db_,
                           "DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id "
                           "LIMIT ?2) AND at_ms < ?1");
    prune.bind(1, audit_before_ms);
    prune.bind(2, static_cast<std::int64_t>(max_records));
    prune.execute();
    pruned = static_cast<std::size_t>(sqlite3_changes(db_.handle()));
    pruned += starts_.stage_prune(now, max_records);
  });
  starts_.apply();
  return pruned;
}

}  // namespace streamgate
