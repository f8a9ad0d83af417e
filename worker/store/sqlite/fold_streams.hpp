#pragma once

// What one fold writes of a user's live-stream rows (docs/design.md §8): the net of the user's
// records in it, taken in commit order. A stream made and ended within the fold is never
// written, one made and renewed is written once with its last lease, and a stored stream renewed
// several times is updated once. The tables end as they would after each record's changes in
// turn; only the statements between go (a start and its stop within a second: two row writes
// less, and no page of the streams table touched for them).

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/domain.hpp"
#include "worker/store/sqlite/log_record.hpp"

namespace streamgate {

class fold_streams final {
 public:
  // A stream made within the fold, with the (version, rank) its record made it at: loads sort by
  // them.
  struct made {
    stream s;
    std::uint64_t version = 0;
    std::size_t rank = 0;
  };

  // The next record of the user (not a removal), in commit order.
  void add(const log_record& r);

  // The stored rows go first (a record that names all of the user's streams).
  bool stored_go() const { return stored_go_; }
  // Stored streams that ended, in the order they ended.
  const std::vector<std::string>& ended() const { return ended_; }
  // f(stream id, expiry) for each stored stream renewed and live at the fold's end.
  template <class F>
  void each_renewed(F f) const {
    for (std::size_t i = 0; i < renewed_.size(); ++i)
      if (renewal_live_[i]) f(renewed_[i].first, renewed_[i].second);
  }
  // f(made) for each stream made within the fold and live at its end, in the order made.
  template <class F>
  void each_made(F f) const {
    for (std::size_t i = 0; i < made_.size(); ++i)
      if (made_live_[i]) f(made_[i]);
  }

 private:
  void end(const std::string& stream_id);
  void renew(const std::string& stream_id, std::int64_t expires_at_ms);

  bool stored_go_ = false;
  std::vector<std::string> ended_;
  std::vector<std::pair<std::string, std::int64_t>> renewed_;
  std::vector<bool> renewal_live_;  // beside renewed_: false once that stream ended
  std::vector<made> made_;
  std::vector<bool> made_live_;  // beside made_: false once that stream ended
  // Where each stream id is in made_ or renewed_.
  std::unordered_map<std::string, std::size_t> made_at_;
  std::unordered_map<std::string, std::size_t> renewed_at_;
};

}  // namespace streamgate
