#pragma once

namespace streamgate::it {

// A loopback TCP port that was free a moment ago: bound to port 0, read back, closed. Another
// process may take it before the child binds it; the stack retries with new ports when a child
// fails to start, which is what makes this good enough for `ctest -j`.
unsigned short free_port();

}  // namespace streamgate::it
