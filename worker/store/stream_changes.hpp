#pragma once

// What a decision changed in one user's live streams, against the state it was loaded at
// (docs/design.md §8), so a store that keeps each stream apart writes those streams and not every
// live one again: a user holding many streams would otherwise cost a write of all of them at each
// start. A live stream changes only its lease (core::start renews it on a reused session,
// core::heartbeat at each beat); it is otherwise made once and then ended.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/domain.hpp"

namespace streamgate {

struct stream_changes {
  std::vector<std::size_t> added;    // indexes in the new streams, oldest first
  std::vector<std::size_t> renewed;  // indexes in the new streams of loaded ones whose lease moved
  std::vector<std::string> ended;    // ids of loaded streams that are gone

  bool operator==(const stream_changes&) const = default;
};

// The changes the decision core reported (core::effects' started and renewed stream ids and
// its ended events' ones, in decision order) against the live streams it left, `now`: a stream
// started and ended in one commit was never stored, and one renewed that was started or ended in it
// is not renewed. From what the core did rather than a copy of every loaded stream to compare with,
// so it costs what changed, not what the user holds (bench/HISTORY.md, session 24). nullopt when
// `now` does not end with the started streams still live, in the order made (the core appends them,
// never reorders): the store then writes every stream.
std::optional<stream_changes> changes_of(const std::vector<std::string>& started,
                                         const std::vector<std::string>& renewed,
                                         const std::vector<std::string>& ended,
                                         const std::vector<stream>& now);

}  // namespace streamgate
