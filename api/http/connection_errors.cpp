#include "api/http/connection_errors.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

namespace streamgate {

bool is_normal_ending(const boost::system::error_code& ec) {
  namespace error = boost::asio::error;
  return ec == boost::beast::http::error::end_of_stream ||
         ec == boost::beast::http::error::partial_message ||
         ec == boost::beast::websocket::error::closed || ec == boost::beast::error::timeout ||
         ec == error::eof || ec == error::operation_aborted || ec == error::connection_reset ||
         ec == error::broken_pipe || ec == error::not_connected || ec == error::bad_descriptor;
}

void log_connection_failure(std::string_view what, const boost::system::error_code& ec) {
  if (is_normal_ending(ec)) return;
  spdlog::debug("connection ended on {}: {}", what, ec.message());
}

void log_unhandled(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("unhandled exception in a connection: {}", ex.what());
  } catch (...) {
    spdlog::error("unhandled exception in a connection");
  }
}

}  // namespace streamgate
