#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "api/http/http_types.hpp"
#include "api/http/listener.hpp"
#include "api/services.hpp"
#include "api/worker_link/worker_link.hpp"

namespace streamgate {

// SIGINT/SIGTERM (docs/design.md §7): stop accepting, close the WebSockets, let the requests in
// flight finish for a while, stop the worker link (whoever still waits gets a 503), then stop
// the io_context.
asio::awaitable<void> shut_down(asio::io_context& ioc, std::shared_ptr<listener> server,
                                api_services& services, worker_link& link);

}  // namespace streamgate
