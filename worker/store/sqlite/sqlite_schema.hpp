#pragma once

// How an SQLite store's file is made ready before the store uses it: the connection's settings,
// the tables of the current schema, and the migrations from every older one (docs/design.md,
// "Stores"). Also the few names the store shares with them: the meta keys and a user's insert.
// Internal to the SQLite store (sqlite_store*.cpp).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/domain.hpp"
#include "worker/store/sqlite/handle.hpp"

namespace streamgate::sqlite_detail {

// Keys of the meta table.
inline constexpr const char* dataset_id_key = "dataset_id";
inline constexpr const char* seeded_key = "seeded";
// The seq of the last decision log record the tables hold (decision_log.hpp).
inline constexpr const char* folded_through_key = "log_folded_through";

// A user's state is bound as text (the handle binds no blobs) and cast: the database is UTF-8, so
// the cast keeps the bytes as they are, and the row holds a BLOB that no text function touches.
inline constexpr const char* insert_user_sql =
    "INSERT INTO users (id, version, state) VALUES (?1, 1, CAST(?2 AS BLOB)) "
    "ON CONFLICT (id) DO NOTHING";

// A live stream's row (schema 7): inserted by insert_stream, read back by read_stream from a
// query's columns stream_id, stream_user_id, video_id, session_id, started_at_ms, expires_at_ms.
// A row already there is replaced: a log record says what the stream is, and a fold that failed
// on it would fail again at every retry, leaving every later record unfolded.
inline constexpr const char* insert_stream_sql =
    "INSERT OR REPLACE INTO streams (user_id, stream_id, made_version, made_rank, stream_user_id, video_id, "
    "session_id, started_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
inline constexpr const char* stream_columns =
    "stream_id, stream_user_id, video_id, session_id, started_at_ms, expires_at_ms";
// `s` as the row of `user_id`'s stream made by the commit of `made_version`, `made_rank`-th in it.
void insert_stream(sqlite_statement& insert, const std::string& user_id, const stream& s,
                   std::uint64_t made_version, std::size_t made_rank);
stream read_stream(const sqlite_statement& row, const std::string& user_id);

// The connection's pragmas (locking, WAL, sync, cache). Throws sqlite_error, also when the file
// cannot be switched to WAL mode.
void configure_connection(const sqlite_db& db);
// Creates the schema in a new file or migrates an older one, with its version, in one
// transaction. Throws sqlite_error, also for a file of a newer schema than this worker reads.
void set_up_schema(const sqlite_db& db, const std::filesystem::path& path);
// Sets `key` in a file's meta table to `value`.
void put_meta(const sqlite_db& db, const char* key, const std::string& value);
// The first column of the first row of `sql`; throws sqlite_error when there is no row.
std::int64_t read_int(const sqlite_db& db, const char* sql);
// A policy column's text as a policy; throws sqlite_error naming `what` for an unknown one.
policy policy_from_store(std::string_view text, const std::string& what);

}  // namespace streamgate::sqlite_detail
