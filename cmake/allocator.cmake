# The allocator of the api and worker programs: jemalloc rather than glibc's malloc, measured with
# bench/compare.sh (README.md "Performance": a lower ?wait=true p99 and less worker CPU per
# start). The sanitizer presets turn STREAMGATE_JEMALLOC off: their runtimes bring their own.
if(STREAMGATE_JEMALLOC)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
endif()

# Links a program (never a library: each program chooses its allocator) with that allocator. Its
# malloc then comes before glibc's in the lookup order, for the libraries too.
function(streamgate_allocator target)
  if(STREAMGATE_JEMALLOC)
    target_link_libraries(${target} PRIVATE PkgConfig::JEMALLOC)
  endif()
endfunction()
