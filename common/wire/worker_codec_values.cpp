// The values of the worker's wire codec (common/wire/worker_codec.hpp, docs/design.md §10): the
// put/get pair of each field type and of each struct a frame carries, laid out as version 1 says
// (the table atop worker_codec.cpp). Apart from the frames, so that this file is the one a new
// field touches: each struct lists its fields once for put and once for get, in the same order.
// The pairs a frame needs are declared in worker_codec_values.hpp, the others only here. All are
// in worker_codec_detail itself, none in an unnamed namespace within it: from there a call would
// not see the header's pairs, a name in an inner namespace hiding the outer ones.

#include "common/wire/worker_codec_values.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "common/wire/wire_buffer.hpp"

namespace streamgate::worker_codec_detail {

// ---- scalars ------------------------------------------------------------------------------------

void put(wire_writer& w, const std::string& value) { w.write_string(value); }
bool get(wire_reader& r, std::string& value) { return r.read_string(value); }

void put(wire_writer& w, bool value) { w.write_bool(value); }
bool get(wire_reader& r, bool& value) { return r.read_bool(value); }

void put(wire_writer& w, std::uint64_t value) { w.write_varint(value); }
bool get(wire_reader& r, std::uint64_t& value) { return r.read_varint(value); }

void put(wire_writer& w, std::int64_t value) { w.write_signed(value); }
bool get(wire_reader& r, std::int64_t& value) { return r.read_signed(value); }

void put(wire_writer& w, int value) { w.write_signed(value); }
bool get(wire_reader& r, int& value) {
  std::int64_t wide = 0;
  if (!r.read_signed(wide) || wide < std::numeric_limits<int>::min() ||
      wide > std::numeric_limits<int>::max())
    return false;
  value = static_cast<int>(wide);
  return true;
}

template <class E>
requires std::is_enum_v<E>
void put(wire_writer& w, E value) { w.write_varint(static_cast<std::uint64_t>(value)); }

// A number past `last` is from a newer peer or corrupt: refused rather than cast into the enum.
template <class E>
bool get_enum(wire_reader& r, E& value, E last) {
  std::uint64_t number = 0;
  if (!r.read_varint(number) || number > static_cast<std::uint64_t>(last)) return false;
  value = static_cast<E>(number);
  return true;
}

// Each names its enum's last enumerator: one added after it needs its name here.
bool get(wire_reader& r, policy& value) { return get_enum(r, value, policy::monitor); }
bool get(wire_reader& r, end_reason& value) { return get_enum(r, value, end_reason::deleted); }
bool get(wire_reader& r, error_code& value) {
  return get_enum(r, value, error_code::too_many_connections);
}

// ---- containers ---------------------------------------------------------------------------------
// Declared here so that the structs below can hold them, defined at the end so that they see
// every struct's overloads (put and get live in worker_codec_detail, out of reach of ADL). Lists
// are in worker_codec_values.hpp, where the frames see them too.

template <class T>
void put(wire_writer& w, const std::optional<T>& value);
template <class T>
bool get(wire_reader& r, std::optional<T>& value);
template <class T, std::size_t N>
void put(wire_writer& w, const std::array<T, N>& values);
template <class T, std::size_t N>
bool get(wire_reader& r, std::array<T, N>& values);

// ---- structs: each lists its fields once for put and once for get, in the same order -----------

void put(wire_writer&, const std::monostate&) {}
bool get(wire_reader&, std::monostate&) { return true; }

void put(wire_writer& w, const error& e) {
  put(w, e.code);
  put(w, e.message);
}
bool get(wire_reader& r, error& e) { return get(r, e.code) && get(r, e.message); }

void put(wire_writer& w, const user& u) {
  put(w, u.id);
  put(w, u.name);
  put(w, u.max_streams);
  put(w, u.policy_override);
  put(w, u.plan);
}
bool get(wire_reader& r, user& u) {
  return get(r, u.id) && get(r, u.name) && get(r, u.max_streams) && get(r, u.policy_override) &&
         get(r, u.plan);
}

void put(wire_writer& w, const user_view& v) {
  put(w, v.u);
  put(w, v.limit);
  put(w, v.effective_policy);
  put(w, v.active);
}
bool get(wire_reader& r, user_view& v) {
  return get(r, v.u) && get(r, v.limit) && get(r, v.effective_policy) && get(r, v.active);
}

void put(wire_writer& w, const plan& p) {
  put(w, p.id);
  put(w, p.max_streams);
  put(w, p.limit_policy);
}
bool get(wire_reader& r, plan& p) {
  return get(r, p.id) && get(r, p.max_streams) && get(r, p.limit_policy);
}

void put(wire_writer& w, const video& v) {
  put(w, v.id);
  put(w, v.title);
  put(w, v.duration_seconds);
}
bool get(wire_reader& r, video& v) {
  return get(r, v.id) && get(r, v.title) && get(r, v.duration_seconds);
}

void put(wire_writer& w, const stream& s) {
  put(w, s.stream_id);
  put(w, s.user_id);
  put(w, s.video_id);
  put(w, s.session_id);
  put(w, s.started_at_ms);
  put(w, s.expires_at_ms);
}
bool get(wire_reader& r, stream& s) {
  return get(r, s.stream_id) && get(r, s.user_id) && get(r, s.video_id) && get(r, s.session_id) &&
         get(r, s.started_at_ms) && get(r, s.expires_at_ms);
}

void put(wire_writer& w, const verdict& v) {
  put(w, v.request_id);
  put(w, v.user_id);
  put(w, v.video_id);
  put(w, v.session_id);
  put(w, v.allowed);
  put(w, v.granted);
  put(w, v.active);
  put(w, v.limit);
  put(w, v.reason);
  put(w, v.over_limit);
  put(w, v.streams);
  put(w, v.decided_at_ms);
}
bool get(wire_reader& r, verdict& v) {
  return get(r, v.request_id) && get(r, v.user_id) && get(r, v.video_id) && get(r, v.session_id) &&
         get(r, v.allowed) && get(r, v.granted) && get(r, v.active) && get(r, v.limit) &&
         get(r, v.reason) && get(r, v.over_limit) && get(r, v.streams) && get(r, v.decided_at_ms);
}

void put(wire_writer& w, const lease& l) { put(w, l.expires_at_ms); }
bool get(wire_reader& r, lease& l) { return get(r, l.expires_at_ms); }

void put(wire_writer& w, const user_snapshot& s) {
  put(w, s.user_id);
  put(w, s.streams);
  put(w, s.limit);
  put(w, s.epoch);
  put(w, s.seq);
}
bool get(wire_reader& r, user_snapshot& s) {
  return get(r, s.user_id) && get(r, s.streams) && get(r, s.limit) && get(r, s.epoch) &&
         get(r, s.seq);
}

void put(wire_writer& w, const audit_entry& a) {
  put(w, a.user_id);
  put(w, a.at_ms);
  put(w, a.type);
  put(w, a.stream_id);
  put(w, a.request_id);
  put(w, a.video_id);
  put(w, a.reason);
}
bool get(wire_reader& r, audit_entry& a) {
  return get(r, a.user_id) && get(r, a.at_ms) && get(r, a.type) && get(r, a.stream_id) &&
         get(r, a.request_id) && get(r, a.video_id) && get(r, a.reason);
}

void put(wire_writer& w, const decision_counters& c) {
  put(w, c.allowed);
  put(w, c.denied);
  put(w, c.over_limit);
  put(w, c.near_limit);
  put(w, c.evicted);
  put(w, c.expired);
  put(w, c.replayed);
  put(w, c.conflicts);
}
bool get(wire_reader& r, decision_counters& c) {
  return get(r, c.allowed) && get(r, c.denied) && get(r, c.over_limit) && get(r, c.near_limit) &&
         get(r, c.evicted) && get(r, c.expired) && get(r, c.replayed) && get(r, c.conflicts);
}

void put(wire_writer& w, const duration_histogram& h) {
  put(w, h.count);
  put(w, h.sum_us);
  put(w, h.cumulative);
}
bool get(wire_reader& r, duration_histogram& h) {
  return get(r, h.count) && get(r, h.sum_us) && get(r, h.cumulative);
}

void put(wire_writer& w, const worker_stats& s) {
  put(w, s.batches);
  put(w, s.requests);
  put(w, s.cumulative);
  put(w, s.active_streams);
  put(w, s.decisions);
  put(w, s.batch_time);
  put(w, s.background_step_time);
}
bool get(wire_reader& r, worker_stats& s) {
  return get(r, s.batches) && get(r, s.requests) && get(r, s.cumulative) &&
         get(r, s.active_streams) && get(r, s.decisions) && get(r, s.batch_time) &&
         get(r, s.background_step_time);
}

void put(wire_writer& w, const ended_event& e) {
  put(w, e.stream_id);
  put(w, e.user_id);
  put(w, e.reason);
}
bool get(wire_reader& r, ended_event& e) {
  return get(r, e.stream_id) && get(r, e.user_id) && get(r, e.reason);
}

void put(wire_writer& w, const access_revoked& a) { put(w, a.user_id); }
bool get(wire_reader& r, access_revoked& a) { return get(r, a.user_id); }

// ---- containers, defined ------------------------------------------------------------------------

template <class T>
void put(wire_writer& w, const std::optional<T>& value) {
  w.write_bool(value.has_value());
  if (value) put(w, *value);
}

template <class T>
bool get(wire_reader& r, std::optional<T>& value) {
  bool present = false;
  if (!r.read_bool(present)) return false;
  if (!present) {
    value.reset();
    return true;
  }
  return get(r, value.emplace());
}

template <class T, std::size_t N>
void put(wire_writer& w, const std::array<T, N>& values) {
  for (const T& value : values) put(w, value);
}

template <class T, std::size_t N>
bool get(wire_reader& r, std::array<T, N>& values) {
  for (T& value : values)
    if (!get(r, value)) return false;
  return true;
}

}  // namespace streamgate::worker_codec_detail
