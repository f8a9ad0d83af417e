#pragma once

// Files compiled into the api (cmake/embed_file.cmake), so the binary serves them wherever it
// runs: the OpenAPI document at /openapi.json and the page at /docs.

#include <string_view>

namespace streamgate {

extern const std::string_view openapi_document;  // api/openapi.json
extern const std::string_view docs_page;         // docs/docs.html

}  // namespace streamgate
