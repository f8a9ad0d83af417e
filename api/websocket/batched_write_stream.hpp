#pragma once

// The byte stream under a WebSocket (docs/design.md §4, "Slow readers"). Beast frames each
// message and hands the frame to this stream, which appends it to one buffer; one write at a time
// hands that buffer to the socket. So every message a session queued while the io thread served
// other sockets goes out in one socket write and one completion, not one of each per message: a
// burst fanned out to many sockets costs a reading socket a few turns of the io thread per batch,
// not one per message, and the io thread's time goes to messages rather than to completions.
// (With one message per turn, as websocket::stream::async_write does, 20 sockets of a user that
// did not read, still taking bytes into their kernel buffers, kept pace with the one that read,
// and all were closed together at the cap of unread messages.)
//
// The session writes its messages with websocket::stream::write, which here only appends and
// never blocks, then awaits flush(). Beast's own writes (the handshake's answer, pongs, pings,
// the close frame) go through async_write_some, which completes once their bytes reached the
// socket, as it would on the socket itself: a client that sends pings and reads nothing is held
// back as before, never buffered without bound. Single-threaded: the connection's strand.

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/system_error.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "api/http/connection_errors.hpp"
#include "api/http/http_types.hpp"

namespace streamgate {

// Not final: Asio's executor traits derive from an I/O object's type to look for members.
class batched_write_stream {
 public:
  using next_layer_type = beast::tcp_stream;
  using executor_type = next_layer_type::executor_type;

  explicit batched_write_stream(beast::tcp_stream&& next);

  // The object that owns this stream (its session). Beast's operations hold only a weak
  // reference to their stream, so what waits here for Beast holds the owner, and this stream
  // outlives the wait. Set before the first write.
  void keep_alive_with(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

  // Writes what was appended and completes once every byte reached the socket, or with the error
  // that ended the writing. The caller keeps the owner alive.
  asio::awaitable<beast::error_code> flush();

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  // Appends and never blocks; fails only with the error of an earlier write.
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, beast::error_code& ec) {
    ec = error_;
    if (ec) return 0;
    std::size_t n = 0;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      const asio::const_buffer b(*it);
      pending_.append(static_cast<const char*>(b.data()), b.size());
      n += b.size();
    }
    return n;
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    beast::error_code ec;
    const std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  // Beast's own writes: appends, and completes once the bytes reached the socket (or with the
  // write's error).
  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return asio::async_initiate<WriteHandler, void(beast::error_code, std::size_t)>(
        [this](auto h, const ConstBufferSequence& bytes) {
          beast::error_code ec;
          const std::size_t n = write_some(bytes, ec);
          auto executor = asio::get_associated_executor(h, get_executor());
          asio::co_spawn(get_executor(),
                         complete_when_flushed(owner_.lock(), std::move(executor), std::move(h),
                                               ec, n),
                         log_unhandled);
        },
        handler, buffers);
  }

  // Reads pass through (the SyncStream concept asks for both kinds).
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, beast::error_code& ec) {
    return next_.read_some(buffers, ec);
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    return next_.read_some(buffers);
  }
  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return next_.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  // Beast's closing handshake ends with this: the bytes still buffered (the close frame) go out
  // before the socket is shut.
  template <class TeardownHandler>
  void async_teardown(beast::role_type role, TeardownHandler&& handler) {
    auto executor = asio::get_associated_executor(handler, get_executor());
    asio::co_spawn(get_executor(),
                   teardown_when_flushed(owner_.lock(), std::move(executor), role,
                                         std::forward<TeardownHandler>(handler)),
                   log_unhandled);
  }

 private:
  // `owner` and `executor` were taken when Beast called, while this stream surely lived: held
  // here, the owner keeps this stream alive until the coroutine ends. No owner: the session is
  // going away and nothing of this stream may be touched.
  template <class Executor, class Handler>
  asio::awaitable<void> complete_when_flushed(std::shared_ptr<void> owner, Executor executor,
                                              Handler handler, beast::error_code ec,
                                              std::size_t n) {
    if (!owner) ec = asio::error::operation_aborted;
    if (!ec) ec = co_await flush();
    // Posted: Beast's operations expect no completion from within the call that started them.
    asio::post(executor, beast::bind_front_handler(std::move(handler), ec, ec ? 0 : n));
  }

  template <class Executor, class Handler>
  asio::awaitable<void> teardown_when_flushed(std::shared_ptr<void> owner, Executor executor,
                                              beast::role_type role, Handler handler) {
    if (!owner) {
      const beast::error_code aborted = asio::error::operation_aborted;
      asio::post(executor, beast::bind_front_handler(std::move(handler), aborted));
      co_return;
    }
    co_await flush();
    using beast::websocket::async_teardown;
    async_teardown(role, next_, std::move(handler));
  }

  beast::tcp_stream next_;
  std::string pending_;    // appended, not yet handed to the socket
  std::string in_flight_;  // what the socket write under way is sending
  bool writing_ = false;   // one flush() writes; the others wait for it
  beast::error_code error_;  // the first failed write: every later one fails with it
  // Waiting flush() calls sleep on it; made at the first wait (rare: a pong or ping while the
  // session writes), so thousands of idle sockets do not each hold one.
  std::unique_ptr<asio::steady_timer> written_;
  std::weak_ptr<void> owner_;
};

// Found by Beast's websocket::stream (argument-dependent lookup) for its closing handshake.
template <class TeardownHandler>
void async_teardown(beast::role_type role, batched_write_stream& stream,
                    TeardownHandler&& handler) {
  stream.async_teardown(role, std::forward<TeardownHandler>(handler));
}

}  // namespace streamgate
