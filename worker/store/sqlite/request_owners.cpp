#include "worker/store/sqlite/request_owners.hpp"

namespace streamgate {

void request_owners::build(const sqlite_db& db) {
  owner_of_request_.clear();
  sqlite_statement rows(db, "SELECT request_id, user_id FROM starts ORDER BY id");
  while (rows.next_row())
    owner_of_request_.insert_or_assign(std::string(rows.column_text(0)),
                                       std::string(rows.column_text(1)));
}

std::optional<std::string> request_owners::owner(const std::string& request_id) const {
  const auto found = owner_of_request_.find(request_id);
  if (found == owner_of_request_.end()) return std::nullopt;
  return found->second;
}

void request_owners::note_decided(const std::string& user_id,
                                  const std::vector<core::remembered_start>& starts) {
  for (const core::remembered_start& s : starts)
    owner_of_request_.insert_or_assign(s.request_id, user_id);
}

void request_owners::forget(const std::vector<request_gone>& gone) {
  // In the order the rows went. A gone request id that a later decision gave to another user
  // keeps that owner.
  for (const request_gone& g : gone) {
    const auto owner = owner_of_request_.find(g.request_id);
    if (owner != owner_of_request_.end() && owner->second == g.user_id)
      owner_of_request_.erase(owner);
  }
}

}  // namespace streamgate
