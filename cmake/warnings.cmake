# One place for the warning flags of every target of ours.
function(streamgate_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
  if(STREAMGATE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
