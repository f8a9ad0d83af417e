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
    bool live = true;  // false once it ended within the fold
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
    for (const renewal& r : renewed_)
      if (r.live) f(r.stream_id, r.expires_at_ms);
  }
  // f(made) for each stream made within the fold and live at its end, in the order made.
  template <class F>
  void each_made(F f) const {
    for (const made& m : made_)
      if (m.live) f(m);
  }

 private:
  void end(const std::string& stream_id);
  void renew(const std::string& stream_id, std::int64_t expires_at_ms);

  struct renewal {
    std::string stream_id;
    std::int64_t expires_at_ms = 0;
    bool live = true;  // false once it ended within the fold
  };

  bool stored_go_ = false;
  std::vector<std::string> ended_;
  std::vector<renewal> renewed_;
  std::vector<made> made_;
  // Where each stream id is in made_ or renewed_.
  std::unordered_map<std::string, std::size_t> made_at_;
  std::unordered_map<std::string, std::size_t> renewed_at_;
};

}  // namespace streamgate
