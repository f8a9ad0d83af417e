// Reading an SQLite store: the seeded marker, the catalog, a batch's users (each state with its
// remembered starts) and request owners, the user list and a user's recent audit lines.

#include <algorithm>

#include "worker/store/sqlite/sqlite_schema.hpp"
#include "worker/store/sqlite/sqlite_store.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate {

namespace {

std::string text_or_empty(const sqlite_statement& statement, int index) {
  return statement.column_is_null(index) ? std::string()
                                         : std::string(statement.column_text(index));
}

}  // namespace

bool sqlite_store::seeded() {
  try {
    select_meta_.bind(1, std::string_view(sqlite_detail::seeded_key));
    const bool found = select_meta_.next_row();
    if (found) select_meta_.reset();
    return found;
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot read the store '" + path_.string() + "': " + e.what());
  }
}

dataset_catalog sqlite_store::load_catalog() {
  dataset_catalog catalog;
  try {
    sqlite_statement videos(db_, "SELECT id, title, duration_seconds FROM videos ORDER BY id");
    while (videos.next_row()) {
      video& v = catalog.videos.emplace_back();
      v.id = videos.column_text(0);
      v.title = videos.column_text(1);
      v.duration_seconds = static_cast<int>(videos.column_int(2));
    }
    sqlite_statement plans(db_, "SELECT id, max_streams, policy FROM plans ORDER BY id");
    while (plans.next_row()) {
      plan& p = catalog.plans.emplace_back();
      p.id = plans.column_text(0);
      p.max_streams = static_cast<int>(plans.column_int(1));
      try {
        p.limit_policy =
            sqlite_detail::policy_from_store(plans.column_text(2), "plan '" + p.id + "'");
      } catch (const sqlite_error&) {
        plans.reset();
        throw;
      }
    }
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot read the catalog of the store '" + path_.string() +
                            "': " + e.what());
  }
  return catalog;
}

loaded_users sqlite_store::load(const std::vector<std::string>& user_ids,
                                const std::vector<std::string>& request_ids) {
  loaded_users loaded;
  loaded.now_ms = now_ms();
  take_fold_results();
  // A logged state is read from the tables once folded (a worker that forgot its cache after a
  // failed commit asks for users it decided on).
  if (std::any_of(user_ids.begin(), user_ids.end(),
                  [&](const std::string& id) { return logged_users_.count(id) > 0; }))
    settle();
  loaded.owners.reserve(request_ids.size());
  for (const std::string& id : request_ids) loaded.owners.push_back(owners_.owner(id));
  loaded.states.reserve(user_ids.size());
  try {
    for (const std::string& id : user_ids) {
      select_user_.bind(1, id);
      if (!select_user_.next_row()) {
        loaded.states.emplace_back();
        continue;
      }
      const auto version = static_cast<std::uint64_t>(select_user_.column_int(0));
      auto state = decode_state(select_user_.column_text(1), version);
      select_user_.reset();
      // A row this worker cannot read is corruption, not a passing failure; but a crash would
      // stop every other user too, so this user's batch gets 503 and the rest are served.
      if (!state)
        throw store_unavailable("the stored state of user '" + id +
                                "' cannot be read: " + state.error().message);
      select_streams_.bind(1, id);
      while (select_streams_.next_row())
        state->streams.push_back(sqlite_detail::read_stream(select_streams_, id));
      select_starts_.bind(1, id);
      while (select_starts_.next_row()) {
        auto start = decode_start(select_starts_.column_text(0));
        if (!start) {
          select_starts_.reset();
          throw store_unavailable("a remembered start of user '" + id +
                                  "' cannot be read: " + start.error().message);
        }
        state->starts.push_back(std::move(*start));
      }
      loaded.states.emplace_back(std::move(*state));
    }
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot load users from the store '" + path_.string() +
                            "': " + e.what());
  }
  return loaded;
}

std::vector<std::string> sqlite_store::user_ids() {
  std::vector<std::string> ids;
  settle();  // users created or removed since the last fold
  try {
    sqlite_statement query(db_, "SELECT id FROM users ORDER BY id");
    while (query.next_row()) ids.emplace_back(query.column_text(0));
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot list the users of the store '" + path_.string() +
                            "': " + e.what());
  }
  return ids;
}

std::vector<audit_entry> sqlite_store::recent_audit(const std::string& user_id, int limit) {
  std::vector<audit_entry> entries;
  // SQLite reads a negative LIMIT as none: a bad limit must not read a whole trail.
  if (limit <= 0) return entries;
  settle();
  try {
    select_audit_.bind(1, user_id);
    select_audit_.bind(2, std::int64_t{limit});
    while (select_audit_.next_row()) {
      audit_entry& e = entries.emplace_back();
      e.user_id = user_id;
      e.at_ms = select_audit_.column_int(0);
      e.type = select_audit_.column_text(1);
      e.stream_id = text_or_empty(select_audit_, 2);
      e.request_id = text_or_empty(select_audit_, 3);
      e.video_id = text_or_empty(select_audit_, 4);
      e.reason = text_or_empty(select_audit_, 5);
    }
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot read the audit of user '" + user_id + "' from the store '" +
                            path_.string() + "': " + e.what());
  }
  return entries;
}

}  // namespace streamgate
