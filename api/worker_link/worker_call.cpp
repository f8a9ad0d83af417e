#include "api/worker_link/worker_call.hpp"

#include <boost/asio/post.hpp>

namespace streamgate {

void reply_waiter::complete(std::optional<worker_reply> reply) && {
  asio::post(executor_, [handler = std::move(handler_), reply = std::move(reply)]() mutable {
    std::move(handler)(std::move(reply));
  });
}

}  // namespace streamgate
