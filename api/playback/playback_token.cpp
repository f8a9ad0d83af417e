#include "api/playback/playback_token.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "api/auth/tokens.hpp"
#include "common/ids.hpp"

namespace streamgate {

namespace {

constexpr std::string_view mac_context = "streamgate-playback-2:";
constexpr std::size_t random_key_bytes = 32;
constexpr std::size_t min_key_bytes = 32;
// Unpadded base64url of a 32-byte SHA-256 MAC.
constexpr std::size_t mac_chars = 43;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct mac_free {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

}  // namespace

struct playback_signer::keyed_mac {
  std::unique_ptr<EVP_MAC_CTX, mac_free> context;
};

playback_signer::playback_signer(std::string key, std::chrono::seconds validity)
    : mac_(std::make_unique<keyed_mac>()), validity_(validity) {
  if (key.size() < min_key_bytes) throw std::invalid_argument("a playback key needs 32 bytes");
  const std::unique_ptr<EVP_MAC, mac_free> hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!hmac) throw std::runtime_error("OpenSSL has no HMAC");
  mac_->context.reset(EVP_MAC_CTX_new(hmac.get()));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
  if (!mac_->context ||
      EVP_MAC_init(mac_->context.get(), reinterpret_cast<const unsigned char*>(key.data()),
                   key.size(), params) != 1)
    throw std::runtime_error("HMAC-SHA256 could not be keyed");
}

playback_signer::~playback_signer() = default;
playback_signer::playback_signer(playback_signer&&) noexcept = default;

std::string playback_signer::key_from_hex(std::string_view hex) {
  std::string key;
  if (hex.empty()) {
    key.resize(random_key_bytes);
    fill_random(reinterpret_cast<unsigned char*>(key.data()), key.size());
    return key;
  }
  // common/config/api_options.cpp checked the digits already; a bad pair here is a bug, not input.
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    const int high = hex_digit(hex[i]);
    const int low = hex_digit(hex[i + 1]);
    if (high < 0 || low < 0) throw std::invalid_argument("the playback key is not hex");
    key.push_back(static_cast<char>(high * 16 + low));
  }
  return key;
}

std::string playback_signer::mac(std::string_view signed_part) const {
  // A copy of the keyed state per token: the prototype is only read, so threads may share it.
  const std::unique_ptr<EVP_MAC_CTX, mac_free> context(EVP_MAC_CTX_dup(mac_->context.get()));
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  std::size_t length = 0;
  if (!context ||
      EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(mac_context.data()),
                     mac_context.size()) != 1 ||
      EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                     signed_part.size()) != 1 ||
      EVP_MAC_final(context.get(), digest.data(), &length, digest.size()) != 1)
    throw std::runtime_error("HMAC-SHA256 failed");
  return base64url(digest.data(), length);
}

std::string playback_signer::sign(const playback_grant& grant, std::int64_t signed_at_ms,
                                  std::int64_t expires_at_ms) const {
  std::string token;
  token.reserve(grant.stream_id.size() + grant.user_id.size() + grant.video_id.size() + 82);
  token += grant.stream_id;
  token += '.';
  token += grant.user_id;
  token += '.';
  token += grant.video_id;
  token += '.';
  token += std::to_string(signed_at_ms);
  token += '.';
  token += std::to_string(expires_at_ms);
  token += '.' + mac(token);
  return token;
}

namespace {

// A positive decimal time in ms.
std::optional<std::int64_t> parse_ms(std::string_view digits) {
  std::int64_t ms = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
  if (ec != std::errc{} || end != digits.data() + digits.size() || ms <= 0) return std::nullopt;
  return ms;
}

}  // namespace

std::optional<playback_claims> playback_signer::verify(std::string_view token) const {
  std::array<std::string_view, 6> parts;
  std::size_t count = 0;
  for (std::size_t start = 0; start <= token.size(); ++count) {
    if (count == parts.size()) return std::nullopt;
    const std::size_t dot = std::min(token.find('.', start), token.size());
    parts[count] = token.substr(start, dot - start);
    start = dot + 1;
  }
  if (count != parts.size() || parts[5].size() != mac_chars) return std::nullopt;
  for (std::size_t i = 0; i < 3; ++i)
    if (!is_valid_id(parts[i])) return std::nullopt;
  const auto signed_at = parse_ms(parts[3]);
  const auto expires = parse_ms(parts[4]);
  if (!signed_at || !expires || *expires < *signed_at) return std::nullopt;
  const std::string_view signed_part = token.substr(0, token.size() - mac_chars - 1);
  if (!same_secret(mac(signed_part), parts[5])) return std::nullopt;
  return playback_claims{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                         *signed_at, *expires};
}

}  // namespace streamgate
