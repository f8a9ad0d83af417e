#pragma once

namespace streamgate::it {

// A loopback TCP port that was free a moment ago: a random one below the kernel's ephemeral range
// (ip_local_port_range), bound and closed. Another process may take it before the child binds
// it; the stack retries with new ports when a child fails to start, which is what makes this good
// enough for `ctest -j`. Below the range, because no connect() takes such a port as its own: an
// api's DEALER reconnecting to a killed worker's port inside the range can connect to itself (TCP
// simultaneous open) and hold the port the restarted worker must bind (a CI run lost a worker
// restart to that: "cannot bind ...: Address already in use").
unsigned short free_port();

}  // namespace streamgate::it
