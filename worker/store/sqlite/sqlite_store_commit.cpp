// Writing an SQLite store from the worker's thread: a batch's group commit (one decision log
// record per committed user, one synced append), and handing seeding and pruning to the log
// folder's thread. The in-memory indexes change only once a transaction is durable.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

#include "worker/core/decisions.hpp"
#include "worker/store/sqlite/log_record.hpp"
#include "worker/store/sqlite/sqlite_store.hpp"

namespace streamgate {

void sqlite_store::seed(const dataset_catalog& catalog,
                        const std::vector<core::user_state>& users) {
  std::vector<const core::user_state*> inserted;
  settle();  // a seeded user is never overwritten, so the tables must be whole
  try {
    folder_->run([&](table_writer& writer) { inserted = writer.seed(catalog, users); });
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot seed the catalog in the store '" + path_.string() +
                            "': " + e.what());
  }
  for (const core::user_state* state : inserted) index(state->u.id, core::next_expiry(*state));
}

std::uint64_t sqlite_store::version_of(
    const std::string& user_id, const std::unordered_map<std::string, std::uint64_t>& staged) {
  if (const auto found = staged.find(user_id); found != staged.end()) return found->second;
  if (const auto found = logged_users_.find(user_id); found != logged_users_.end())
    return found->second.version;
  // Not in the log: the tables hold its last commit (the folder reported it folded).
  select_version_.bind(1, user_id);
  if (!select_version_.next_row()) return 0;
  const auto version = static_cast<std::uint64_t>(select_version_.column_int(0));
  select_version_.reset();
  return version;
}

std::vector<commit_status> sqlite_store::commit(const std::vector<user_commit>& commits) {
  std::vector<commit_status> statuses(commits.size(), commit_status::conflict);
  if (commits.empty()) return statuses;
  take_fold_results();
  // The tables cannot keep up or cannot be written: the batch waits, or gets 503, before the
  // log and the folder's memory grow without bound.
  if (folder_->waiting() >= max_unfolded_records) settle();
  // Each named user's version as this batch leaves it (0: removed), applied once durable.
  std::unordered_map<std::string, std::uint64_t> staged;
  std::vector<logged_record> records;
  try {
    try {
      // Before this batch's appends, so that the newest segment goes too once the tables hold
      // all of it: a log of folded records goes a segment at a time, a rename or unlink each.
      log_->clear_through(folded_through_);
      for (std::size_t i = 0; i < commits.size(); ++i) {
        const user_commit& c = commits[i];
        const std::string& id = c.state.u.id;
        // The version check (store.hpp): a create finds no user (0), any other commit the
        // version it loaded; a removal needs a user to remove.
        const std::uint64_t stored = version_of(id, staged);
        if (stored != c.state.version || (c.remove && stored == 0)) continue;
        logged_record& r = records.emplace_back();
        r.seq = next_seq_ + static_cast<std::int64_t>(records.size()) - 1;
        r.bytes = encode_log_record(c, stored);
        log_->append(r.seq, r.bytes);
        staged[id] = c.remove ? 0 : stored + 1;
        statuses[i] = commit_status::committed;
      }
      // As late as possible before the append, so a file moved or written during the batch is
      // caught too; the batch is dropped then.
      check_files();
      log_->commit();
    } catch (...) {
      log_->rollback();
      throw;
    }
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot commit a batch to the store '" + path_.string() +
                            "': " + e.what());
  }
  // Only once durable: a failed commit leaves the indexes matching the files.
  bool removed = false;
  for (std::size_t i = 0; i < commits.size(); ++i) {
    if (statuses[i] != commit_status::committed) continue;
    const user_commit& c = commits[i];
    unfolded_.emplace_back(next_seq_++, c.state.u.id);
    ++logged_users_[c.state.u.id].records;
    removed = removed || c.remove;
    index(c.state.u.id, c.remove ? std::nullopt : c.next_expiry);
    if (!c.remove) owners_.note_decided(c.state.u.id, c.new_starts);
  }
  for (auto& [user_id, version] : staged) logged_users_[user_id].version = version;
  folder_->add(std::move(records));
  // A removal frees the user's request ids and drops its trail at once, as its rows go.
  if (removed) {
    try {
      settle();
    } catch (const store_unavailable& e) {
      // The batch is durable in the log: the folder applies it when it can.
      spdlog::warn("could not fold a user's removal at once: {}", e.what());
    }
  }
  return statuses;
}

std::size_t sqlite_store::prune(std::int64_t audit_before_ms, std::size_t max_records) {
  take_fold_results();
  // Never waits for a fold (a step of the worker's thread): the next step prunes instead.
  if (max_records == 0 || folder_->folding()) return 0;
  const std::int64_t now = now_ms();
  std::size_t pruned = 0;
  std::vector<request_gone> gone;
  try {
    folder_->run([&](table_writer& writer) {
      pruned = writer.prune(audit_before_ms, now, max_records, gone);
    });
  } catch (const sqlite_error& e) {
    throw store_unavailable(
        "cannot prune the audit trail and the remembered starts of the store '" + path_.string() +
        "': " + e.what());
  }
  owners_.forget(gone);
  return pruned;
}

}  // namespace streamgate
