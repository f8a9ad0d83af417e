#pragma once

#include <boost/system/error_code.hpp>
#include <exception>
#include <string_view>

namespace streamgate {

// Ends of a connection that are part of normal life (the peer left or closed, we closed, an
// idle timeout): not errors, not logged as such.
bool is_normal_ending(const boost::system::error_code& ec);

// Logs an abnormal end of a connection at debug level: a client's network trouble is not the
// server's error, but it helps when diagnosing one client.
void log_connection_failure(std::string_view what, const boost::system::error_code& ec);

// Completion handler of detached coroutines: an exception that escaped is logged, not lost.
void log_unhandled(std::exception_ptr e);

}  // namespace streamgate
