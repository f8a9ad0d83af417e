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
