#pragma once

// Folds the SQLite store's decision log into its tables on a thread of its own (docs/design.md
// §8), so that the worker's thread only appends to the log: a fold of thousands of records, each
// page written once for all of them, never holds up a batch. The worker hands over each batch's
// records once they are durable in the log; this thread folds them (table_writer::fold) once
// `fold_at` of them wait or the oldest has waited `fold_after`, and runs what else writes the
// tables (seeding, pruning) when asked. What it folded is collected by take() on the worker's
// thread: the last seq the tables hold (whose records the log may drop), the request ids whose
// starts went, and the error that stopped folding.
//
// A fold that fails keeps its records and is tried again `fold_after` later, or one second
// later when that is sooner (a settle() waits for that try). A file deleted,
// replaced or written by another process (store_lost) stops folding for good: take() reports it.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "worker/store/sqlite/decision_log.hpp"
#include "worker/store/sqlite/start_records.hpp"
#include "worker/store/sqlite/table_writer.hpp"

namespace streamgate {

class log_folder final {
 public:
  // Larger folds write a page that many records change once for all of them (bench/HISTORY.md,
  // "Changes measured", session 15's row); a read that needs the tables folds at once whatever
  // waits.
  struct timing {
    std::size_t fold_at = 16384;
    std::chrono::milliseconds fold_after{1000};
  };

  // Starts the thread, which owns `writer` from now on. `folded_through`: the seq the tables
  // hold already.
  log_folder(std::unique_ptr<table_writer> writer, std::int64_t folded_through, timing t);
  // Folds what waits (one try), then stops the thread.
  ~log_folder();
  log_folder(const log_folder&) = delete;
  log_folder& operator=(const log_folder&) = delete;

  // Records durable in the log, seqs growing.
  void add(std::vector<logged_record> records);
  // Waits until every record added is folded. Throws store_unavailable when a fold failed
  // meanwhile, store_lost when folding stopped.
  void settle();
  // Runs `task` with the writer on the thread as soon as no fold is in progress (before any
  // waiting record is folded) and waits for it; rethrows what it threw, store_lost when folding
  // stopped.
  void run(const std::function<void(table_writer&)>& task);
  // True while a fold is in progress (run() would wait for it).
  bool folding() const;

  struct results {
    std::int64_t folded_through = 0;
    std::vector<request_gone> gone;
    std::optional<std::string> lost;  // why folding stopped
  };
  // What the thread did since the last take().
  results take();
  // Records added and not folded yet.
  std::size_t waiting() const;

 private:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds max_retry_wait{1000};
  void loop();
  // Runs the task, or folds what waits; the lock is released meanwhile.
  void work(std::unique_lock<std::mutex>& lock);
  void run_task(std::unique_lock<std::mutex>& lock);
  bool due(clock::time_point now) const;
  clock::time_point next_due() const;

  std::unique_ptr<table_writer> writer_;
  const timing timing_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // the thread's
  std::condition_variable done_;  // the waiters'
  std::vector<logged_record> waiting_;
  clock::time_point oldest_at_{};  // when the oldest waiting record was added
  clock::time_point retry_at_{};   // after a failed fold
  std::size_t folding_ = 0;        // records taken by the fold in progress
  int settlers_ = 0;               // callers of settle(): fold now
  const std::function<void(table_writer&)>* task_ = nullptr;
  std::exception_ptr task_error_;
  std::uint64_t failures_ = 0;         // folds that failed
  std::optional<std::string> failed_;  // the last fold's error, until one succeeds
  results results_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace streamgate
