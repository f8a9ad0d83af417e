#include "api/playback/playback_gate.hpp"

#include <chrono>
#include <utility>

#include "common/clock.hpp"

namespace streamgate {

namespace {

// A reply signed late (a slow worker link) is still kept within a call's longest wait.
constexpr std::int64_t revocation_slack_ms = 60'000;

}  // namespace

playback_gate::playback_gate(playback_signer signer)
    : signer_(std::move(signer)),
      ends_(signer_.validity().count() + revocation_slack_ms, revocation_capacity),
      verified_(verified_capacity) {}

playback_pass playback_gate::pass(const playback_grant& grant, std::int64_t now_ms) const {
  const std::int64_t expires = now_ms + signer_.validity().count();
  return {signer_.sign(grant, now_ms, expires), expires};
}

void playback_gate::ended(std::string_view stream_id, std::int64_t now_ms) {
  ends_.revoke(stream_id, now_ms);
}

void playback_gate::distrust_until(std::int64_t now_ms) { ends_.distrust_before(now_ms); }

result<playback_claims> playback_gate::check(std::string_view token, std::string_view video_id,
                                             std::int64_t now_ms) const {
  auto claims = verified_.find(token, now_ms);
  if (!claims) {
    claims = signer_.verify(token);
    if (!claims) return error{error_code::invalid_token, "the playback token is not valid"};
    verified_.remember(token, *claims, now_ms);
  }
  if (claims->video_id != video_id)
    return error{error_code::wrong_video, "the playback token is for another video"};
  // This api keeps an end only as long as its own tokens can outlive it (revocation_set), so a
  // token of another api that lasts longer would play again once its end is forgotten.
  if (claims->expires_at_ms - claims->signed_at_ms > signer_.validity().count())
    return error{error_code::token_expired,
                 "the playback token lasts longer than this api's tokens (do all apis share "
                 "--playback-token-seconds?); a heartbeat renews it"};
  switch (ends_.check(claims->stream_id, claims->signed_at_ms)) {
    case revocation_set::verdict::revoked:
      return error{error_code::stream_ended, "the stream has ended"};
    case revocation_set::verdict::distrusted:
      return error{error_code::token_expired,
                   "the playback token predates what this api knows; a heartbeat renews it"};
    case revocation_set::verdict::valid:
      break;
  }
  if (std::chrono::steady_clock::now().time_since_epoch().count() >=
      heard_until_.load(std::memory_order_relaxed))
    return error{error_code::unavailable,
                 "this api does not hear a worker's events now, so it cannot tell whether the "
                 "stream has ended; retry soon"};
  if (claims->expires_at_ms <= now_ms)
    return error{error_code::token_expired, "the playback token has expired; a heartbeat renews it"};
  return std::move(*claims);
}

}  // namespace streamgate
