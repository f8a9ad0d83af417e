#pragma once

// Bearer tokens of users (--auth token). A token is "<userId>.<secret>", the secret being 32
// random bytes in unpadded base64url, so the api knows whose token it is handed without asking
// a worker: a valid token of another user is then a 403, a token that is nobody's a 401. Only
// the SHA-256 of a token leaves the api (the worker stores it); the token itself is shown once,
// in the answer that creates the user.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace streamgate {

// A fresh token for `user_id`, from the kernel's random source (getrandom). Throws
// std::system_error when the kernel gives no randomness.
std::string new_token(std::string_view user_id);

// The user a token names; nullopt when it is not shaped like one of ours.
std::optional<std::string_view> token_user(std::string_view token);

// SHA-256 of `text` as 64 lowercase hex digits (OpenSSL's EVP interface).
std::string sha256_hex(std::string_view text);

// Bytes from the kernel's random source (getrandom); throws std::system_error without any.
void fill_random(unsigned char* out, std::size_t size);

// Unpadded base64url (RFC 4648 §5): safe in paths and query strings without escaping.
std::string base64url(const unsigned char* data, std::size_t size);

// Equality in time that depends on the lengths only (CRYPTO_memcmp), for secrets and digests.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace streamgate
