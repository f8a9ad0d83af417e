#pragma once

// Internal to the worker's wire codec (common/wire/worker_codec.hpp, docs/design.md §10): the
// put/get pair of each value a frame carries, so that the frames (worker_codec.cpp) and the
// values (worker_codec_values.cpp, which lays each one out) are apart. A put appends the value;
// a get reads one into its argument and returns false, the argument then unspecified, on
// anything but exactly the value's encoding. Nothing outside common/wire includes this.

#include <cstddef>
#include <variant>
#include <vector>

#include "common/wire/wire_buffer.hpp"
#include "common/worker_replies.hpp"

namespace streamgate::worker_codec_detail {

void put(wire_writer& w, const std::monostate& nothing);
bool get(wire_reader& r, std::monostate& nothing);

void put(wire_writer& w, const error& e);
bool get(wire_reader& r, error& e);

void put(wire_writer& w, const user_view& v);
bool get(wire_reader& r, user_view& v);

void put(wire_writer& w, const plan& p);
bool get(wire_reader& r, plan& p);

void put(wire_writer& w, const video& v);
bool get(wire_reader& r, video& v);

void put(wire_writer& w, const stream& s);
bool get(wire_reader& r, stream& s);

void put(wire_writer& w, const verdict& v);
bool get(wire_reader& r, verdict& v);

void put(wire_writer& w, const lease& l);
bool get(wire_reader& r, lease& l);
void put(wire_writer& w, const event_position& p);
bool get(wire_reader& r, event_position& p);
void put(wire_writer& w, const clock_reading& c);
bool get(wire_reader& r, clock_reading& c);

void put(wire_writer& w, const user_snapshot& s);
bool get(wire_reader& r, user_snapshot& s);

void put(wire_writer& w, const audit_entry& a);
bool get(wire_reader& r, audit_entry& a);

void put(wire_writer& w, const worker_stats& s);
bool get(wire_reader& r, worker_stats& s);

void put(wire_writer& w, const ended_event& e);
bool get(wire_reader& r, ended_event& e);

void put(wire_writer& w, const access_revoked& a);
bool get(wire_reader& r, access_revoked& a);

// A list: varint count, then the elements. Defined here, after the pairs above, because a
// template sees only the overloads declared before it (ADL does not reach this namespace): an
// element needs its pair above.
template <class T>
void put(wire_writer& w, const std::vector<T>& values) {
  w.write_varint(values.size());
  for (const T& value : values) put(w, value);
}

template <class T>
bool get(wire_reader& r, std::vector<T>& values) {
  std::size_t count = 0;
  if (!r.read_count(count)) return false;
  values.clear();
  values.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
    if (!get(r, values.emplace_back())) return false;
  return true;
}

}  // namespace streamgate::worker_codec_detail
