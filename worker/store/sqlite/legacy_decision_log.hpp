#pragma once

// The decision log as workers kept it before it became a folder of segment files
// (decision_log.hpp): an SQLite file at the same path, `<store file>-decisions`, with a meta
// table naming its dataset and a decision_log table of (seq, record). A store opened over one
// folds its records first and then deletes it (sqlite_store.cpp), as the schema's migrations do.

#include <filesystem>
#include <string>
#include <vector>

#include "worker/store/sqlite/log_segment.hpp"

namespace streamgate::legacy_decision_log {

// Whether `path` is such a file (a folder is today's log).
bool exists_at(const std::filesystem::path& path);

// Its records after seq `after` (the last the tables hold), oldest first. Throws sqlite_error when
// it cannot be read, store_unavailable when it holds records of a dataset other than `dataset_id`.
std::vector<logged_record> read(const std::filesystem::path& path, const std::string& dataset_id,
                                std::int64_t after);

// Deletes it, with its -wal and -shm.
void remove(const std::filesystem::path& path);

}  // namespace streamgate::legacy_decision_log
