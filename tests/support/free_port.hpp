#pragma once

namespace streamgate::it {

// A loopback TCP port that was free a moment ago: a random one below the kernel's ephemeral range
// (ip_local_port_range), bound and closed, and reserved for this process: no other test process
// is handed it while this one runs (free_port.cpp). A process that is not a test may still take
// it before the child binds it; the stack retries with new ports when a child fails to start. Below
// the range, because no connect() takes such a port as its own: inside it, while a killed worker is
// down, any outgoing connection on the machine (a parallel test's client, an api reconnecting to
// that very port) may get the port, and the restarted worker cannot bind it (a CI run lost a worker
// restart to that: "Address already in use").
unsigned short free_port();

}  // namespace streamgate::it
