#pragma once

#include <atomic>
#include <cstdint>

namespace streamgate {

// What the link dropped or retried, for /metrics and for diagnosing a worker outage.
// Written by the bridge's strand and io threads, read by anyone: relaxed atomics.
struct link_stats {
  std::atomic<std::uint64_t> sent{0};          // requests sent to a worker (first attempts)
  std::atomic<std::uint64_t> resent{0};        // retries of idempotent requests
  // Sends not made: no worker of ours, none connected, HWM, or (a start told by events) none
  // whose events this api hears from the life that takes it yet.
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> queue_full{0};    // calls refused before reaching the bridge
  std::atomic<std::uint64_t> timeouts{0};      // calls that got no reply in time
  std::atomic<std::uint64_t> late_replies{0};  // replies nobody waits for any more (or to a retry)
  std::atomic<std::uint64_t> malformed{0};     // replies and events not in the wire format
  std::atomic<std::uint64_t> events{0};        // events received from the workers
  // Gaps in a worker's numbered messages of events: its PUB dropped what this api's SUB could
  // not take (a slow api), or the SUB reconnected on its own.
  std::atomic<std::uint64_t> event_gaps{0};
  // Workers heard announcing a dataset that is not the one this api serves (hardening: two
  // stores would each grant a user the limit); while one answers, no worker gets a request.
  std::atomic<std::uint64_t> foreign_dataset{0};
  // Workers this api routes to now: of its dataset, answering and heard (a gauge).
  std::atomic<std::uint64_t> workers_alive{0};
  // Worker lives the store names alive that this api does not hear: while any, it serves no
  // media (a gauge; docs/design.md §9).
  std::atomic<std::uint64_t> lives_unheard{0};
  // 1 while two workers of its dataset serve copies of one store: it serves nobody (a gauge).
  std::atomic<std::uint64_t> store_copies{0};
};

}  // namespace streamgate
