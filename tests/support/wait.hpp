#pragma once

// Waiting for a condition, never for a fixed time: re-check `condition` until it holds or the
// deadline passes. The pause between checks only spaces the polls out; it is not a guess about
// how long something takes.

#include <algorithm>
#include <chrono>
#include <thread>

namespace streamgate::it {

template <class Condition>
bool wait_until(Condition&& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds max_pause = std::chrono::milliseconds(100)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(5);
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, max_pause);
  }
}

}  // namespace streamgate::it
