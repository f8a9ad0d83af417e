#pragma once

// The Lua scripts of the Redis engine (worker/redis/*.lua), compiled in by
// cmake/embed_file.cmake so the worker needs no files at run time.

#include <string_view>

namespace streamgate {

extern const std::string_view redis_lua_prelude;
extern const std::string_view redis_lua_start;
extern const std::string_view redis_lua_heartbeat;
extern const std::string_view redis_lua_stop;
extern const std::string_view redis_lua_stop_all;
extern const std::string_view redis_lua_expire;
extern const std::string_view redis_lua_view;
extern const std::string_view redis_lua_create_user;
extern const std::string_view redis_lua_patch_user;
extern const std::string_view redis_lua_audit;
extern const std::string_view redis_lua_request;
extern const std::string_view redis_lua_lease_due;
extern const std::string_view redis_lua_lease_index;

}  // namespace streamgate
