#include "api/auth/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "common/ids.hpp"

namespace streamgate {

namespace {

constexpr std::size_t secret_bytes = 32;
// Unpadded base64 of 32 bytes.
constexpr std::size_t secret_chars = (secret_bytes * 8 + 5) / 6;

bool is_base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

struct md_context_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

void fill_random(unsigned char* out, std::size_t size) {
  while (size > 0) {
    // Blocks only until the kernel's pool is initialised at boot, never afterwards.
    const ssize_t n = getrandom(out, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    out += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::string base64url(const unsigned char* data, std::size_t size) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((size * 8 + 5) / 6);
  unsigned bits = 0;
  int pending = 0;
  for (std::size_t i = 0; i < size; ++i) {
    bits = (bits << 8) | data[i];
    pending += 8;
    while (pending >= 6) {
      pending -= 6;
      out.push_back(alphabet[(bits >> pending) & 0x3f]);
    }
  }
  if (pending > 0) out.push_back(alphabet[(bits << (6 - pending)) & 0x3f]);
  return out;
}

std::string new_token(std::string_view user_id) {
  std::array<unsigned char, secret_bytes> secret{};
  fill_random(secret.data(), secret.size());
  std::string token(user_id);
  token += '.';
  token += base64url(secret.data(), secret.size());
  return token;
}

std::optional<std::string_view> token_user(std::string_view token) {
  // Ids hold no '.', so the last one separates the user from the secret.
  const std::size_t dot = token.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view user = token.substr(0, dot);
  const std::string_view secret = token.substr(dot + 1);
  if (!is_valid_id(user) || secret.size() != secret_chars) return std::nullopt;
  for (const char c : secret)
    if (!is_base64url(c)) return std::nullopt;
  return user;
}

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  const std::unique_ptr<EVP_MD_CTX, md_context_free> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), text.data(), text.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &length) != 1)
    throw std::runtime_error("SHA-256 failed in libcrypto");
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace streamgate
