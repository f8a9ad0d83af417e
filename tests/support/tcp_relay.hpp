#pragma once

// A TCP relay on loopback: a link between a client and a server that a test can hold up, as a
// congested network or a peer that stopped reading would. Each connection to port() is relayed
// to `upstream_port`. While paused, one read more at most is made on the server's side and held,
// so what the server sends backs up into its own socket buffers (and then its queues) as toward
// a reader that fell behind; what the client sends still goes through. Used between a worker and
// one api, on its events (docs/design.md §9, an api that misses events) and on its requests (a
// reply held up); and between a Redis master and its replica (replication held up). The relay
// itself holds little: that one read (16 KiB at most), and its socket toward the server asks for a
// small receive buffer. Destroyed, it drops what it holds.

#include <memory>

namespace streamgate::it {

class tcp_relay final {
 public:
  explicit tcp_relay(unsigned short upstream_port);
  ~tcp_relay();
  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;

  unsigned short port() const;
  // Both return once the relay's thread has applied them.
  void pause();
  void resume();
  // Whether a paused link holds bytes it read from the server since, or in a read under way when
  // the pause came; they go to the client first on resume.
  bool holds_bytes();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace streamgate::it
