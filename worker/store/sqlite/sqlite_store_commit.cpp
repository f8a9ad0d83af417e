// Writing an SQLite store, each call one transaction: seeding, a batch's group commit (one
// decision log record per committed user) and pruning. The in-memory indexes change only once a
// transaction is durable. Folding the log into the tables is in sqlite_store_fold.cpp.

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <unordered_map>

#include "worker/core/decisions.hpp"
#include "worker/store/sqlite/log_record.hpp"
#include "worker/store/sqlite/sqlite_schema.hpp"
#include "worker/store/sqlite/sqlite_store.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate {

void sqlite_store::run_in_transaction(const char* what, const std::function<void()>& body,
                                      bool synced) {
  try {
    // Set before each transaction that needs the other mode, so a commit is synced whatever ran
    // before it, even a fold that failed halfway.
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
      throw;
    }
  } catch (const sqlite_error& e) {
    throw store_unavailable(std::string("cannot ") + what + " in the store '" + path_.string() +
                            "': " + e.what());
  }
}

void sqlite_store::seed(const dataset_catalog& catalog,
                        const std::vector<core::user_state>& users) {
  fold_if_logged();  // a seeded user is never overwritten, so the tables must be whole
  std::vector<const core::user_state*> inserted;
  run_in_transaction("seed the catalog", [&] {
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
  for (const core::user_state* state : inserted) index(state->u.id, core::next_expiry(*state));
}

std::uint64_t sqlite_store::version_of(
    const std::string& user_id, const std::unordered_map<std::string, std::uint64_t>& staged) {
  if (const auto found = staged.find(user_id); found != staged.end()) return found->second;
  if (const auto found = logged_users_.find(user_id); found != logged_users_.end())
    return found->second.version;
  select_version_.bind(1, user_id);
  if (!select_version_.next_row()) return 0;
  const auto version = static_cast<std::uint64_t>(select_version_.column_int(0));
  select_version_.reset();
  return version;
}

std::vector<commit_status> sqlite_store::commit(const std::vector<user_commit>& commits) {
  std::vector<commit_status> statuses(commits.size(), commit_status::conflict);
  if (commits.empty()) return statuses;
  // Each named user's version as this batch leaves it (0: removed), applied once durable.
  std::unordered_map<std::string, std::uint64_t> staged;
  run_in_transaction("commit a batch", [&] {
    std::fill(statuses.begin(), statuses.end(), commit_status::conflict);
    staged.clear();
    for (std::size_t i = 0; i < commits.size(); ++i) {
      const user_commit& c = commits[i];
      const std::string& id = c.state.u.id;
      // The version check (store.hpp): a create finds no user (0), any other commit the version
      // it loaded; a removal needs a user to remove.
      const std::uint64_t stored = version_of(id, staged);
      if (stored != c.state.version || (c.remove && stored == 0)) continue;
      // Bound without a copy: lives until the statement has run.
      const std::string record = encode_log_record(c, stored);
      append_log_.bind(1, record);
      append_log_.execute();
      staged[id] = c.remove ? 0 : stored + 1;
      statuses[i] = commit_status::committed;
    }
    // As late as possible before COMMIT, so a file moved or written during the batch is caught
    // too; the batch is rolled back then.
    check_not_moved();
    check_sole_writer();
  });
  // Only once durable: a failed commit leaves the indexes matching the file.
  bool removed = false;
  for (std::size_t i = 0; i < commits.size(); ++i) {
    if (statuses[i] != commit_status::committed) continue;
    const user_commit& c = commits[i];
    ++logged_;
    ++logged_users_[c.state.u.id].records;
    removed = removed || c.remove;
    index(c.state.u.id, c.remove ? std::nullopt : c.next_expiry);
    if (!c.remove) starts_.note_decided(c.state.u.id, c.new_starts);
  }
  for (auto& [user_id, version] : staged) logged_users_[user_id].version = version;
  // A removal frees the user's request ids and drops its trail at once, as its rows go; a long
  // log is folded before it grows without bound between the worker's background folds.
  if (removed || logged_ >= fold_at_records) {
    try {
      fold_log();
    } catch (const store_unavailable& e) {
      // The batch is durable in the log: the next fold (a read, the background step, an open)
      // applies it.
      spdlog::warn("could not fold the decision log after a commit: {}", e.what());
    }
  }
  return statuses;
}

std::size_t sqlite_store::prune(std::int64_t audit_before_ms, std::size_t max_records) {
  std::size_t pruned = 0;
  if (max_records == 0) return pruned;
  const std::int64_t now = now_ms();
  if (logged_ > 0) fold_log(std::max(fold_step_records, logged_ / 4));
  const auto prune = [&] {
    starts_.discard();
    prune_audit_.bind(1, audit_before_ms);
    prune_audit_.bind(2, static_cast<std::int64_t>(max_records));
    prune_audit_.execute();
    pruned = static_cast<std::size_t>(sqlite3_changes(db_.handle()));
    pruned += starts_.stage_prune(now, max_records);
  };
  run_in_transaction("prune the audit trail and the remembered starts", prune, /*synced=*/false);
  starts_.apply();
  return pruned;
}

}  // namespace streamgate
