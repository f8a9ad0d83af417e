#pragma once

// Everything an api knows about playback (docs/design.md §9): it signs the tokens it hands out
// and decides, from a token alone, whether media may be served. Shared by the worker link's
// strand (signing, ends) and the io threads (checks); every member is safe to call from any.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/playback/playback_pass.hpp"
#include "api/playback/playback_token.hpp"
#include "api/playback/revocation_set.hpp"
#include "api/playback/verified_tokens.hpp"
#include "common/error.hpp"
#include "common/messages.hpp"

namespace streamgate {

class playback_gate final {
 public:
  // How many ended streams are remembered at most (revocation_set): about 100 bytes each.
  static constexpr std::size_t revocation_capacity = 200'000;
  // How many checked tokens are remembered at most (verified_tokens): about 300 bytes each, and a
  // live stream has two or three at a time (one per heartbeat).
  static constexpr std::size_t verified_capacity = 16'384;

  explicit playback_gate(playback_signer signer);

  // A token for `grant` valid from `now_ms`, for a reply or an event (api/views renders it).
  playback_pass pass(const playback_grant& grant, std::int64_t now_ms) const;

  // The stream ended: its tokens are refused from now on.
  void ended(std::string_view stream_id, std::int64_t now_ms);
  // This api may have missed ends (a worker reconnected): tokens signed before now are refused.
  void distrust_until(std::int64_t now_ms);
  // Media is served only until `deadline`: the worker link moves it on while it hears every
  // worker that answers, and moves it back while it does not (its events do not arrive, or it does
  // not know yet which it serves): ends go unheard, so no media is served until it hears again
  // (docs/design.md §9). A deadline rather than a flag, so that an api whose link stalled (the
  // process frozen, its strand starved) serves nothing on what it heard before: a black-box probe
  // saw a frozen api serve, for a moment after it resumed, streams ended seconds before.
  void hear_until(std::chrono::steady_clock::time_point deadline) {
    heard_until_.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
  }

  // Media of `video_id` may be served to `token` at `now_ms`: its claims, or why not
  // (error_code::invalid_token, wrong_video, stream_ended, token_expired; unavailable while
  // deaf).
  result<playback_claims> check(std::string_view token, std::string_view video_id,
                                std::int64_t now_ms) const;

  std::size_t remembered_ends() const { return ends_.size(); }
  std::size_t remembered_tokens() const { return verified_.size(); }

 private:
  playback_signer signer_;
  revocation_set ends_;
  mutable verified_tokens verified_;  // a memory of check(), which changes no answer
  // hear_until's deadline in steady_clock ticks; served until told otherwise (the unit tests).
  std::atomic<std::chrono::steady_clock::rep> heard_until_{
      std::chrono::steady_clock::time_point::max().time_since_epoch().count()};
};

}  // namespace streamgate
