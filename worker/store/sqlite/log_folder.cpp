#include "worker/store/sqlite/log_folder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "common/thread_name.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

log_folder::log_folder(std::unique_ptr<table_writer> writer, std::int64_t folded_through, timing t)
    : writer_(std::move(writer)), timing_(t) {
  results_.folded_through = folded_through;
  thread_ = std::thread([this] { loop(); });
  name_thread(thread_, "sg-log-fold");
}

log_folder::~log_folder() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void log_folder::add(std::vector<logged_record> records) {
  if (records.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (waiting_.empty()) oldest_at_ = clock::now();
    std::move(records.begin(), records.end(), std::back_inserter(waiting_));
    wake = waiting_.size() >= timing_.fold_at;
  }
  if (wake) wake_.notify_one();
}

void log_folder::settle() {
  std::unique_lock lock(mutex_);
  if (waiting_.empty() && folding_ == 0) return;
  const std::uint64_t failures = failures_;
  ++settlers_;
  wake_.notify_one();
  // Until everything is folded, or a fold failed after this call began (tried again later).
  done_.wait(lock, [&] {
    return (waiting_.empty() && folding_ == 0) || results_.lost || failures_ != failures;
  });
  --settlers_;
  if (results_.lost) throw store_lost(*results_.lost);
  if (failures_ != failures)
    throw store_unavailable("cannot fold the decision log: " + failed_.value_or("?"));
}

void log_folder::run(const std::function<void(table_writer&)>& task) {
  std::unique_lock lock(mutex_);
  task_ = &task;
  task_error_ = nullptr;
  wake_.notify_one();
  done_.wait(lock, [&] { return task_ == nullptr; });
  if (task_error_) std::rethrow_exception(std::exchange(task_error_, nullptr));
}

log_folder::results log_folder::take() {
  std::lock_guard lock(mutex_);
  results taken = std::move(results_);
  results_ = results{};
  // Both stay true until the next change.
  results_.folded_through = taken.folded_through;
  results_.lost = taken.lost;
  return taken;
}

std::size_t log_folder::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_.size() + folding_;
}

bool log_folder::folding() const {
  std::lock_guard lock(mutex_);
  return folding_ > 0;
}

bool log_folder::due(clock::time_point now) const {
  if (stopping_ || task_ != nullptr) return true;
  if (waiting_.empty() || now < retry_at_) return false;
  // A failed fold is tried again at retry_at_.
  return failed_ || settlers_ > 0 || waiting_.size() >= timing_.fold_at ||
         now >= oldest_at_ + timing_.fold_after;
}

log_folder::clock::time_point log_folder::next_due() const {
  auto next = clock::time_point::max();
  if (!waiting_.empty())
    next = failed_ ? retry_at_ : std::max(oldest_at_ + timing_.fold_after, retry_at_);
  return next;
}

void log_folder::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto next = next_due();
    if (next == clock::time_point::max())
      wake_.wait(lock, [&] { return due(clock::now()); });
    else
      wake_.wait_until(lock, next, [&] { return due(clock::now()); });
    if (!due(clock::now())) continue;
    const bool last = stopping_;
    work(lock);
    if (last) return;
  }
}

void log_folder::run_task(std::unique_lock<std::mutex>& lock) {
  const auto* task = task_;
  const std::optional<std::string> lost = results_.lost;
  lock.unlock();
  std::exception_ptr error;
  if (lost) {
    error = std::make_exception_ptr(store_lost(*lost));
  } else {
    try {
      (*task)(*writer_);
    } catch (...) {
      error = std::current_exception();
    }
  }
  lock.lock();
  task_ = nullptr;
  task_error_ = error;
  done_.notify_all();
}

void log_folder::work(std::unique_lock<std::mutex>& lock) {
  if (task_ != nullptr) return run_task(lock);
  const auto now = clock::now();
  std::vector<logged_record> batch;
  if (now >= retry_at_ || stopping_) batch = std::exchange(waiting_, {});
  if (batch.empty()) return;
  folding_ = batch.size();
  const std::optional<std::string> lost = results_.lost;
  lock.unlock();

  std::vector<request_gone> gone;
  std::optional<std::string> failed;
  std::optional<std::string> lost_now;
  bool folded = false;
  if (!lost) {
    try {
      writer_->fold(batch, gone);
      folded = true;
    } catch (const store_lost& e) {
      lost_now = e.what();
    } catch (const std::exception& e) {
      failed = e.what();
      spdlog::warn("could not fold the decision log into the tables (tried again soon): {}",
                   e.what());
    }
  }

  lock.lock();
  folding_ = 0;
  if (folded) {
    results_.folded_through = batch.back().seq;
    failed_.reset();
  } else {
    // Kept, before what came meanwhile, and tried again later.
    std::move(waiting_.begin(), waiting_.end(), std::back_inserter(batch));
    waiting_ = std::move(batch);
    oldest_at_ = clock::now();
    retry_at_ = oldest_at_ + std::min<clock::duration>(timing_.fold_after, max_retry_wait);
    failed_ = failed;
    if (failed) ++failures_;
  }
  std::move(gone.begin(), gone.end(), std::back_inserter(results_.gone));
  if (lost_now) results_.lost = lost_now;
  done_.notify_all();
}

}  // namespace streamgate
