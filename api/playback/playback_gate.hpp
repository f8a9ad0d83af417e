#pragma once

// Everything an api knows about playback (docs/design.md §9): it signs the tokens it hands out
// and decides, from a token alone, whether media may be served. Shared by the worker link's
// strand (signing, ends) and the io threads (checks); every member is safe to call from any.

#include <atomic>
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
  // This api does not hear a worker that answers (its events do not arrive), or does not know
  // yet which it serves (its first moments): ends go unheard, so no media is served until it hears
  // again (docs/design.md §9). A worker that answers nothing publishes no end either.
  void set_deaf(bool deaf) { deaf_.store(deaf, std::memory_order_relaxed); }

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
  std::atomic<bool> deaf_{false};
};

}  // namespace streamgate
