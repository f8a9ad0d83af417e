#pragma once

// SQLite's writes reach the disk as they are made, a chunk at a time, instead of all at once when
// a fold commits or the WAL is copied into the file (docs/design.md §8, "Paced writes"). The
// decision log's `fdatasync` shares the disk with those writes, and a sync waits for what was
// queued on the device before it: a fold's megabytes made one batch's sync take 5 to 100 ms
// instead of 0.3 (bench/HISTORY.md, session 31). Written out and waited for in chunks, the fold's
// pages leave at most a chunk queued in front of a sync. Durability does not change: SQLite still
// syncs every transaction as before; this only makes its writes leave earlier.

#include <cstdint>

namespace streamgate::paced_writes {

// Bytes a file of SQLite's takes from one thread before they are written out (and waited for).
inline constexpr std::uint64_t chunk_bytes = 256 * 1024;

// Puts the pacing into SQLite's default VFS (its `pwrite64`, through xSetSystemCall), once per
// process, before any connection writes. False when this SQLite has no such system call to
// replace: its writes then go as SQLite makes them.
bool install();

// How many chunks were written out since the process began (what the tests watch).
std::uint64_t chunks_written();

}  // namespace streamgate::paced_writes
