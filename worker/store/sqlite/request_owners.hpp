#pragma once

// The SQLite store's request-owner index (request id -> user), on the worker's thread: exact,
// because the worker owns the file. Built from the starts rows at open; a start is added once
// its decision log record is durable, and goes once the table writer reports its row gone
// (start_records.hpp), unless a later decision gave the id to another user meanwhile.

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "worker/core/user_state.hpp"
#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/start_records.hpp"

namespace streamgate {

class request_owners final {
 public:
  // Every starts row's request id and user, oldest first. Throws sqlite_error.
  void build(const sqlite_db& db);
  std::optional<std::string> owner(const std::string& request_id) const;
  void note_decided(const std::string& user_id, const std::vector<core::remembered_start>& starts);
  void forget(const std::vector<request_gone>& gone);

 private:
  std::unordered_map<std::string, std::string> owner_of_request_;
};

}  // namespace streamgate
