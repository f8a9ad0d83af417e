// The values of the worker's wire codec (common/wire/worker_codec.hpp, docs/design.md §10): the
// put/get pair of each field type and of each struct a frame carries, laid out as version 2 says
// (the table atop worker_codec.cpp). Apart from the frames, so that this file is the one a new
// field touches: each struct lists its fields once (fields()), which its put and its get both walk.
// The pairs a frame needs are declared in worker_codec_values.hpp, the others only here. All are
// in worker_codec_detail itself, none in an unnamed namespace within it: from there a call would
// not see the header's pairs, a name in an inner namespace hiding the outer ones.

#include "common/wire/worker_codec_values.hpp"

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
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
  return get_enum(r, value, error_code::upgrade_required);
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

// ---- structs: each lists its fields once, in wire order ----------------------------------------
// fields() ties a struct's members, const or not; put_fields and get_fields walk that one list, so
// a struct's put and get cannot drift apart. A struct held by another but not by a frame is
// declared first: a template sees only the overloads declared before it.

void put(wire_writer& w, const user& u);
bool get(wire_reader& r, user& u);
void put(wire_writer& w, const decision_counters& c);
bool get(wire_reader& r, decision_counters& c);
void put(wire_writer& w, const duration_histogram& h);
bool get(wire_reader& r, duration_histogram& h);

template <class S, class T>
concept either_const = std::same_as<std::remove_const_t<S>, T>;

auto fields(either_const<error> auto& e) { return std::tie(e.code, e.message); }
auto fields(either_const<user> auto& u) {
  return std::tie(u.id, u.name, u.max_streams, u.policy_override, u.plan);
}
auto fields(either_const<user_view> auto& v) {
  return std::tie(v.u, v.limit, v.effective_policy, v.active);
}
auto fields(either_const<plan> auto& p) { return std::tie(p.id, p.max_streams, p.limit_policy); }
auto fields(either_const<video> auto& v) { return std::tie(v.id, v.title, v.duration_seconds); }
auto fields(either_const<stream> auto& s) {
  return std::tie(s.stream_id, s.user_id, s.video_id, s.session_id, s.started_at_ms,
                  s.expires_at_ms);
}
auto fields(either_const<verdict> auto& v) {
  return std::tie(v.request_id, v.user_id, v.video_id, v.session_id, v.allowed, v.granted, v.active,
                  v.limit, v.reason, v.over_limit, v.streams, v.decided_at_ms);
}
auto fields(either_const<lease> auto& l) { return std::tie(l.expires_at_ms); }
auto fields(either_const<event_position> auto& p) { return std::tie(p.life, p.published); }
auto fields(either_const<clock_reading> auto& c) { return std::tie(c.wall_ms, c.position); }
auto fields(either_const<user_snapshot> auto& s) {
  return std::tie(s.user_id, s.streams, s.limit, s.epoch, s.seq);
}
auto fields(either_const<audit_entry> auto& a) {
  return std::tie(a.user_id, a.at_ms, a.type, a.stream_id, a.request_id, a.video_id, a.reason);
}
auto fields(either_const<decision_counters> auto& c) {
  return std::tie(c.allowed, c.denied, c.over_limit, c.near_limit, c.evicted, c.expired, c.replayed,
                  c.conflicts);
}
auto fields(either_const<duration_histogram> auto& h) {
  return std::tie(h.count, h.sum_us, h.cumulative);
}
auto fields(either_const<worker_stats> auto& s) {
  return std::tie(s.batches, s.requests, s.cumulative, s.active_streams, s.decisions, s.batch_time,
                  s.background_step_time);
}
auto fields(either_const<ended_event> auto& e) {
  return std::tie(e.stream_id, e.user_id, e.reason);
}
auto fields(either_const<access_revoked> auto& a) { return std::tie(a.user_id); }

template <class S>
void put_fields(wire_writer& w, const S& s) {
  std::apply([&w](const auto&... field) { (put(w, field), ...); }, fields(s));
}
template <class S>
bool get_fields(wire_reader& r, S& s) {
  // && stops at the first field that cannot be read.
  return std::apply([&r](auto&... field) { return (get(r, field) && ...); }, fields(s));
}

void put(wire_writer&, const std::monostate&) {}
bool get(wire_reader&, std::monostate&) { return true; }
void put(wire_writer& w, const error& e) { put_fields(w, e); }
bool get(wire_reader& r, error& e) { return get_fields(r, e); }
void put(wire_writer& w, const user& u) { put_fields(w, u); }
bool get(wire_reader& r, user& u) { return get_fields(r, u); }
void put(wire_writer& w, const user_view& v) { put_fields(w, v); }
bool get(wire_reader& r, user_view& v) { return get_fields(r, v); }
void put(wire_writer& w, const plan& p) { put_fields(w, p); }
bool get(wire_reader& r, plan& p) { return get_fields(r, p); }
void put(wire_writer& w, const video& v) { put_fields(w, v); }
bool get(wire_reader& r, video& v) { return get_fields(r, v); }
void put(wire_writer& w, const stream& s) { put_fields(w, s); }
bool get(wire_reader& r, stream& s) { return get_fields(r, s); }
void put(wire_writer& w, const verdict& v) { put_fields(w, v); }
bool get(wire_reader& r, verdict& v) { return get_fields(r, v); }
void put(wire_writer& w, const lease& l) { put_fields(w, l); }
bool get(wire_reader& r, lease& l) { return get_fields(r, l); }
void put(wire_writer& w, const event_position& p) { put_fields(w, p); }
bool get(wire_reader& r, event_position& p) { return get_fields(r, p); }
void put(wire_writer& w, const clock_reading& c) { put_fields(w, c); }
bool get(wire_reader& r, clock_reading& c) { return get_fields(r, c); }
void put(wire_writer& w, const user_snapshot& s) { put_fields(w, s); }
bool get(wire_reader& r, user_snapshot& s) { return get_fields(r, s); }
void put(wire_writer& w, const audit_entry& a) { put_fields(w, a); }
bool get(wire_reader& r, audit_entry& a) { return get_fields(r, a); }
void put(wire_writer& w, const decision_counters& c) { put_fields(w, c); }
bool get(wire_reader& r, decision_counters& c) { return get_fields(r, c); }
void put(wire_writer& w, const duration_histogram& h) { put_fields(w, h); }
bool get(wire_reader& r, duration_histogram& h) { return get_fields(r, h); }
void put(wire_writer& w, const worker_stats& s) { put_fields(w, s); }
bool get(wire_reader& r, worker_stats& s) { return get_fields(r, s); }
void put(wire_writer& w, const ended_event& e) { put_fields(w, e); }
bool get(wire_reader& r, ended_event& e) { return get_fields(r, e); }
void put(wire_writer& w, const access_revoked& a) { put_fields(w, a); }
bool get(wire_reader& r, access_revoked& a) { return get_fields(r, a); }

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
