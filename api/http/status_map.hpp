#pragma once

#include <boost/beast/http/status.hpp>

#include "common/error.hpp"
#include "common/messages.hpp"

namespace streamgate {

// The one table from transport-neutral results (a worker's outcome, an error code) to HTTP
// statuses. Anything it does not know is a 500, so a new code shows up in tests, not as a 200.
boost::beast::http::status status_of(outcome o);
boost::beast::http::status status_of(error_code code);

}  // namespace streamgate
