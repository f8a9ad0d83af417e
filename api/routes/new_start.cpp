#include "api/routes/new_start.hpp"

#include <utility>

#include "common/ids.hpp"

namespace streamgate {

start_request new_start(start_body body, std::string user_id) {
  start_request start;
  start.request_id_made = !body.request_id;
  start.request_id = body.request_id ? std::move(*body.request_id) : new_request_id();
  start.user_id = std::move(user_id);
  start.video_id = std::move(body.video_id);
  start.session_id = body.session_id ? std::move(*body.session_id) : new_id("ses_");
  return start;
}

}  // namespace streamgate
