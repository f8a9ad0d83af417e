#include "api/websocket/batched_write_stream.hpp"

#include <boost/asio/write.hpp>

namespace streamgate {

batched_write_stream::batched_write_stream(beast::tcp_stream&& next) : next_(std::move(next)) {}

asio::awaitable<beast::error_code> batched_write_stream::flush() {
  // Another flush is writing: it writes what is appended meanwhile too before it stops.
  while (writing_ && !error_) {
    // Never expires: the waiters sleep until cancel() wakes them all (an expiry set per wait
    // would cancel the other waiters' waits).
    if (!written_)
      written_ = std::make_unique<asio::steady_timer>(get_executor(),
                                                      asio::steady_timer::time_point::max());
    co_await written_->async_wait(use_nothrow);
  }
  if (error_ || pending_.empty()) co_return error_;
  writing_ = true;
  while (!pending_.empty()) {
    in_flight_.swap(pending_);
    const auto [ec, n] = co_await asio::async_write(next_, asio::buffer(in_flight_), use_nothrow);
    in_flight_.clear();
    if (ec) {
      error_ = ec;
      pending_.clear();
      break;
    }
  }
  writing_ = false;
  // An idle socket keeps no buffer: thousands of quiet sockets would each hold their last batch.
  std::string().swap(in_flight_);
  std::string().swap(pending_);
  if (written_) written_->cancel();
  co_return error_;
}

}  // namespace streamgate
