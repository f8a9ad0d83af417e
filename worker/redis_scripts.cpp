#include "worker/redis_scripts.hpp"

#include <hiredis/hiredis.h>

#include "worker/decision_engine.hpp"
#include "worker/redis/scripts.hpp"

namespace streamgate {

namespace {

// The per-user scripts share the prelude's key layout and helpers; the lease index scripts work
// on the global index only.
std::string with_prelude(std::string_view body) {
  std::string text(redis_lua_prelude);
  text += '\n';
  text += body;
  return text;
}

}  // namespace

redis_scripts::redis_scripts()
    : bodies_{with_prelude(redis_lua_start),       with_prelude(redis_lua_heartbeat),
              with_prelude(redis_lua_stop),        with_prelude(redis_lua_stop_all),
              with_prelude(redis_lua_expire),      with_prelude(redis_lua_view),
              with_prelude(redis_lua_create_user), with_prelude(redis_lua_patch_user),
              with_prelude(redis_lua_audit),       with_prelude(redis_lua_request),
              std::string(redis_lua_lease_due),    std::string(redis_lua_lease_index)} {}

void redis_scripts::load(redis_client& client) {
  for (const std::string& body : bodies_) client.append({"SCRIPT", "LOAD", body});
  for (std::size_t i = 0; i < script_count; ++i) {
    const redis_reply_ptr r = client.get_reply();
    if (reply_is_error(*r))
      throw store_unavailable("redis refused script " + std::to_string(i) + ": " +
                              std::string(reply_string(*r)));
    shas_[i] = std::string(reply_string(*r));
  }
}

bool is_noscript(const redisReply& r) {
  return r.type == REDIS_REPLY_ERROR && std::string_view(r.str, r.len).starts_with("NOSCRIPT");
}

}  // namespace streamgate
