# One place for the warning flags of every target of ours.
function(streamgate_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
  # GCC 12 at -O2 reports Asio's coroutine frame allocator (aligned_alloc paired with its own
  # sized operator delete) as a mismatched new/delete: a false positive inside Boost's headers.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
  endif()
  if(STREAMGATE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Compiles the target's sources in batches (one compiler run parses Beast and Asio once per batch
# instead of once per file): the api and the test programs are most of the build time, and CI
# builds the unit tests twice (release, ASan).
function(streamgate_unity_build target)
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  # GCC flags coroutine frames of one batched file as using another file's anonymous namespace.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
  endif()
endfunction()
