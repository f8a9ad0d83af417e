#pragma once

// worker/store/redis/commit.lua, compiled in by cmake/embed_file.cmake (worker/CMakeLists.txt)
// so the worker needs no files at run time.

#include <string_view>

namespace streamgate {

extern const std::string_view redis_commit_lua;

}  // namespace streamgate
