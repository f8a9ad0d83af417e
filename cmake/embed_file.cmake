# Writes OUTPUT, a C++ source defining `const std::string_view streamgate::SYMBOL` with the bytes
# of INPUT, so the program serves them without finding files at run time.
#   cmake -DINPUT=api/openapi.json -DOUTPUT=x.cpp -DSYMBOL=openapi_document -P embed_file.cmake
# HEADER names the header declaring SYMBOL (api/routes/embedded.hpp when not given).
if(NOT DEFINED HEADER)
  set(HEADER "api/routes/embedded.hpp")
endif()
file(READ "${INPUT}" content)
set(delimiter "sg_embed")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter ${delimiter}")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/embed_file.cmake; do not edit.\n"
  "#include \"${HEADER}\"\n\n"
  "namespace streamgate {\n\n"
  "const std::string_view ${SYMBOL} = R\"${delimiter}(${content})${delimiter}\";\n\n"
  "}  // namespace streamgate\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
