// streamgate-keygen: writes a new CURVE key pair for the worker link (docs/design.md §6), Z85
// text as libzmq makes it, each key on one line. scripts/make-link-keys.sh runs it once per
// program. The secret key's file is created readable by its owner only, and neither file is ever
// overwritten: replacing a key in use would lock its holder out of the link.

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include <zmq.h>

#include "common/link_keys.hpp"

namespace {

constexpr std::string_view program = "streamgate-keygen";
constexpr int exit_usage = 2;

// Creates `path` (never an existing file) with `mode` and writes the key and a newline.
bool write_new_file(const char* path, mode_t mode, std::string_view key) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    std::cerr << program << ": cannot create '" << path << "': " << std::strerror(errno) << '\n';
    return false;
  }
  const std::string line = std::string(key) + '\n';
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const bool closed = ::close(fd) == 0;
  if (!written || !closed) {
    std::cerr << program << ": cannot write '" << path << "': " << std::strerror(errno) << '\n';
    ::unlink(path);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc != 3 || std::string_view(argv[1]).starts_with("-")) {
    std::cerr << "Usage: " << program << " SECRET_KEY_FILE PUBLIC_KEY_FILE\n"
              << "Writes a new CURVE key pair (Z85) for the link between streamgate-api and\n"
                 "streamgate-worker; neither file may exist yet.\n";
    return exit_usage;
  }
  std::array<char, streamgate::z85_key_length + 1> public_key{};
  std::array<char, streamgate::z85_key_length + 1> secret_key{};
  if (zmq_curve_keypair(public_key.data(), secret_key.data()) != 0) {
    std::cerr << program << ": this libzmq has no CURVE: " << zmq_strerror(zmq_errno()) << '\n';
    return 1;
  }
  if (!write_new_file(argv[1], 0600, {secret_key.data(), streamgate::z85_key_length})) return 1;
  if (!write_new_file(argv[2], 0644, {public_key.data(), streamgate::z85_key_length})) {
    // No half-made pair: a secret key without its public key is no use to anyone.
    ::unlink(argv[1]);
    return 1;
  }
  return 0;
}
