#pragma once

// Adds fields to JSON objects rendered elsewhere (by the worker or by encode_error) without
// parsing them: the api relays the worker's bytes, and a re-encode would cost more than the
// request itself.

#include <string>
#include <string_view>

namespace streamgate {

// `fields` is one or more `"name":value` pairs, inserted first in `object`. An `object` that is
// not a JSON object is returned unchanged.
std::string prepend_fields(std::string_view fields, std::string_view object);

// `"name":"value"`; value must need no escaping (an id matching [A-Za-z0-9_-]{1,64}).
std::string id_field(std::string_view name, std::string_view id);

}  // namespace streamgate
