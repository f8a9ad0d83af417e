#pragma once

// Playback tokens (docs/design.md §9): what an api hands each allowed stream so that media is
// served to it, checked by any api of the deployment without asking a worker. A token is
//   <streamId>.<userId>.<videoId>.<signedAtMs>.<expiresAtMs>.<mac>
// where mac is the unpadded base64url HMAC-SHA256, under the key every api shares, of
// "streamgate-playback-2:" and the five fields before it. The signing time is the token's own,
// not its expiry less the checking api's validity: apis whose --playback-token-seconds differ
// (or one restarted with another) would otherwise date a token after a distrust it predates. Ids
// hold no '.', so the fields split unambiguously, and the whole token is safe in a query string as
// it is.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/messages.hpp"

namespace streamgate {

struct playback_claims {
  std::string stream_id;
  std::string user_id;
  std::string video_id;
  std::int64_t signed_at_ms = 0;
  std::int64_t expires_at_ms = 0;
};

class playback_signer final {
 public:
  // `key`: the raw key bytes, 32 or more.
  playback_signer(std::string key, std::chrono::seconds validity);
  ~playback_signer();
  playback_signer(playback_signer&&) noexcept;
  playback_signer& operator=(playback_signer&&) = delete;
  playback_signer(const playback_signer&) = delete;
  playback_signer& operator=(const playback_signer&) = delete;

  // The key from its hex digits (--playback-key-file, STREAMGATE_PLAYBACK_KEY), or 32 random
  // bytes when `hex` is empty: one process alone then, the one-machine demo.
  static std::string key_from_hex(std::string_view hex);

  std::chrono::milliseconds validity() const { return validity_; }

  std::string sign(const playback_grant& grant, std::int64_t signed_at_ms,
                   std::int64_t expires_at_ms) const;

  // The claims of a token this key signed, whatever its expiry; nullopt for anything else.
  std::optional<playback_claims> verify(std::string_view token) const;

 private:
  std::string mac(std::string_view signed_part) const;

  struct keyed_mac;
  // HMAC-SHA256 keyed once; each token copies it (OpenSSL 3's one-shot HMAC() fetches the digest
  // and hashes the key again on every call, a tenth of the authorize route's time).
  std::unique_ptr<keyed_mac> mac_;
  std::chrono::milliseconds validity_;
};

}  // namespace streamgate
