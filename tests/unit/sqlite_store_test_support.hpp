#pragma once

// What the SQLite store's tests share (sqlite_store_test.cpp, sqlite_store_migration_test.cpp):
// users, streams and commits to store, and reading a store file's schema back.

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/starts_named.hpp"
#include "tests/unit/temp_dir.hpp"
#include "worker/store/sqlite/decision_log.hpp"
#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/sqlite_store.hpp"

namespace streamgate::sqlite_test {

inline constexpr std::int64_t t0 = 1'700'000'000'000;

inline core::user_state new_user(std::string id) {
  core::user_state state;
  state.u.id = id;
  state.u.name = "Name of " + id;
  return state;
}

inline stream make_stream(std::string id, const std::string& user_id, std::int64_t expires_at_ms) {
  return {std::move(id), user_id, "v01", "phone", expires_at_ms - 90'000, expires_at_ms};
}

inline core::remembered_start allowed_start(std::string request_id, const stream& s) {
  core::remembered_start r;
  r.request_id = std::move(request_id);
  r.video_id = s.video_id;
  r.session_id = s.session_id;
  r.decided_at_ms = s.started_at_ms;
  r.allowed = true;
  r.stream_id = s.stream_id;
  r.expires_at_ms = s.expires_at_ms;
  r.active = 1;
  r.limit = 3;
  return r;
}

inline audit_entry audit_line(const std::string& user_id, std::int64_t at_ms, std::string type,
                              std::string request_id = {}) {
  audit_entry e;
  e.user_id = user_id;
  e.at_ms = at_ms;
  e.type = std::move(type);
  e.request_id = std::move(request_id);
  e.stream_id = "s1";
  return e;
}

// A user granted one stream by request `request_id`, as the core would commit it.
inline user_commit granted(core::user_state state, const std::string& stream_id,
                           const std::string& request_id, std::int64_t expires_at_ms) {
  const stream s = make_stream(stream_id, state.u.id, expires_at_ms);
  state.streams.push_back(s);
  state.starts.push_back(allowed_start(request_id, s));
  ++state.seq;
  user_commit c;
  c.audit = {audit_line(state.u.id, s.started_at_ms, "allowed", request_id)};
  c.next_expiry = expires_at_ms;
  c.new_starts = test::starts_named(state, {request_id});
  c.state = std::move(state);
  return c;
}

inline user_commit created(core::user_state state) {
  user_commit c;
  c.state = std::move(state);
  return c;
}

// A store whose log is folded on demand only (settle(), a load or a read that needs the tables,
// a removal, the close): what the log and the tables hold between two steps is known.
inline std::unique_ptr<sqlite_store> open_unfolded(const std::filesystem::path& file,
                                                   std::size_t fold_at = 1'000'000) {
  return sqlite_store::open(file, 1000, 600'000, {fold_at, std::chrono::hours(1)});
}

// The decision log folder beside the tables file `file`.
inline std::filesystem::path log_of(const std::filesystem::path& file) {
  return decision_log::path_beside(file);
}

// The log's segment files, oldest first (not its spares).
inline std::vector<std::filesystem::path> segments_of(const std::filesystem::path& file) {
  std::vector<std::filesystem::path> segments;
  for (const auto& entry : std::filesystem::directory_iterator(log_of(file)))
    if (log_segment::first_seq_of(entry.path().filename().string()) > 0)
      segments.push_back(entry.path());
  std::sort(segments.begin(), segments.end());
  return segments;
}

// The records the log beside `file` holds, oldest first, read as the next open reads them.
inline std::vector<logged_record> logged_records(const std::filesystem::path& file) {
  std::vector<logged_record> records;
  for (const auto& segment : segments_of(file))
    for (logged_record& r : log_segment::scan(segment).records) records.push_back(std::move(r));
  return records;
}

inline core::user_state loaded_one(sqlite_store& store, const std::string& id) {
  auto loaded = store.load({id});
  REQUIRE(loaded.states.size() == 1);
  REQUIRE(loaded.states[0].has_value());
  return *loaded.states[0];
}

// Every table and index of a store file, by name.
inline constexpr const char* schema_objects =
    "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master "
    "WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name)";

inline std::string text_of(const std::filesystem::path& file, const char* sql) {
  sqlite_db db(file.string());
  sqlite_statement query(db, sql);
  std::string value = query.next_row() ? std::string(query.column_text(0)) : "";
  query.reset();
  return value;
}

}  // namespace streamgate::sqlite_test
