#pragma once

// What a decision changed in one user's live streams, against the state it was loaded at
// (docs/design.md §8), so a store that keeps each stream apart (Redis) writes those streams and
// not every live one again: a user holding many streams would otherwise cost a write of all of
// them at each start. A live stream changes only its lease (core::start renews it on a reused
// session, core::heartbeat at each beat); it is otherwise made once and then ended.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/domain.hpp"

namespace streamgate {

struct stream_changes {
  std::vector<std::size_t> added;    // indexes in the new streams, oldest first
  std::vector<std::size_t> renewed;  // indexes in the new streams of loaded ones whose lease moved
  std::vector<std::string> ended;    // ids of loaded streams that are gone

  bool operator==(const stream_changes&) const = default;
};

// The id and lease of each loaded stream, taken before a decision changes them. The ids share
// one buffer: taking them costs two allocations however many streams a user holds, where a copy
// of each id cost one allocation per live stream at every decision (bench/run.sh users hold
// about a hundred).
class stream_leases final {
 public:
  stream_leases() = default;
  explicit stream_leases(const std::vector<stream>& streams);
  stream_leases(std::initializer_list<std::pair<std::string_view, std::int64_t>> leases);

  std::size_t size() const { return entries_.size(); }
  std::string_view id(std::size_t i) const;
  std::int64_t expires_at_ms(std::size_t i) const { return entries_[i].expires_at_ms; }

  bool operator==(const stream_leases&) const = default;

 private:
  void add(std::string_view id, std::int64_t expires_at_ms);

  struct entry {
    std::size_t id_end;  // in ids_, where the id ends (the next one begins)
    std::int64_t expires_at_ms;
    bool operator==(const entry&) const = default;
  };
  std::string ids_;
  std::vector<entry> entries_;
};

// `now` against `loaded`: linear, as both keep the streams in the order they were made (the core
// appends new ones and erases ended ones, never reorders).
stream_changes changes_between(const stream_leases& loaded, const std::vector<stream>& now);

}  // namespace streamgate
