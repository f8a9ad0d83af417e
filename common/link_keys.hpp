#pragma once

// The CURVE keys of the worker link (docs/design.md §6) as they are kept in files: Z85 text
// (ZeroMQ RFC 32), 40 characters for a 32-byte key, as zmq_curve_keypair and
// scripts/make-link-keys.sh write them. Only the text is judged here; libzmq does the
// cryptography, and any 32 bytes are a valid Curve25519 key.

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace streamgate {

inline constexpr std::size_t z85_key_length = 40;

// 40 characters of the Z85 alphabet, each group of five worth less than 2^32 (what
// zmq_z85_decode accepts).
bool is_z85_key(std::string_view text);

// A file that holds one key; whitespace around it (a trailing newline) is ignored. Messages name
// the file but never quote its content: it may be a secret key.
result<std::string> read_key_file(const std::string& path);

// A file of public keys, one a line; blank lines and lines starting with '#' are ignored. At
// least one key. A bad line is named by its number, not quoted (a secret key pasted by mistake
// must not reach a log).
result<std::vector<std::string>> read_key_list_file(const std::string& path);

}  // namespace streamgate
