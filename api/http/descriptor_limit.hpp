#pragma once

// Open files against --max-connections (hardening: the cap could exceed what the process may
// open, so accepts failed in a loop instead of the cap answering 503). At start the api raises
// its soft RLIMIT_NOFILE to the hard limit, then keeps the cap below it.

#include <cstddef>

namespace streamgate {

// Descriptors kept for everything but client connections: listener, ZeroMQ sockets and their
// pipes, log files, static files being read.
inline constexpr std::size_t reserved_descriptors = 128;

// The connection cap that fits `open_files_limit` descriptors.
std::size_t connections_within(std::size_t requested, std::size_t open_files_limit);

// Raises the soft limit on open files to the hard one; returns the soft limit now in force.
std::size_t raise_open_files_limit();

}  // namespace streamgate
