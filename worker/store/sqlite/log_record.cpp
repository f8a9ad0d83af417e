#include "worker/store/sqlite/log_record.hpp"

#include <optional>

#include "common/wire/wire_buffer.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate {

namespace {

constexpr unsigned char whole_state_format = 1;  // schema 6: read, never written
constexpr unsigned char format = 2;

void write_stream(wire_writer& w, const stream& s, const std::string& owner) {
  w.write_string(s.stream_id);
  // Its owner's, but for a state no decision makes: then said, so every state round-trips.
  w.write_string(s.user_id == owner ? std::string_view() : std::string_view(s.user_id));
  w.write_string(s.video_id);
  w.write_string(s.session_id);
  w.write_signed(s.started_at_ms);
  w.write_signed(s.expires_at_ms);
}

bool read_stream(wire_reader& r, const std::string& owner, stream& s) {
  if (!r.read_string(s.stream_id) || !r.read_string(s.user_id) || !r.read_string(s.video_id) ||
      !r.read_string(s.session_id) || !r.read_signed(s.started_at_ms) ||
      !r.read_signed(s.expires_at_ms))
    return false;
  if (s.user_id.empty()) s.user_id = owner;
  return true;
}

bool read_audit_line(wire_reader& r, const std::string& user_id, audit_entry& e) {
  e.user_id = user_id;
  return r.read_signed(e.at_ms) && r.read_string(e.type) && r.read_string(e.stream_id) &&
         r.read_string(e.request_id) && r.read_string(e.video_id) && r.read_string(e.reason);
}

// The streams of a format 2 record, after its state bytes.
bool read_streams(wire_reader& r, log_record& record) {
  std::size_t count = 0;
  if (!r.read_bool(record.all_streams) || !r.read_count(count)) return false;
  record.added.resize(count);
  for (stream& s : record.added)
    if (!read_stream(r, record.user_id, s)) return false;
  if (!r.read_count(count)) return false;
  record.renewed.resize(count);
  for (auto& [id, expires_at_ms] : record.renewed)
    if (!r.read_string(id) || !r.read_signed(expires_at_ms)) return false;
  if (!r.read_count(count)) return false;
  record.ended.resize(count);
  for (std::string& id : record.ended)
    if (!r.read_string(id)) return false;
  return true;
}

// A format 1 record's whole state as a format 2 record's state and streams.
std::optional<error> split_whole_state(log_record& record) {
  if (record.remove) return std::nullopt;
  auto state = decode_state(record.state, record.version);
  if (!state) return state.error();
  record.state = encode_state(*state, /*with_streams=*/false);
  record.all_streams = true;
  record.added = std::move(state->streams);
  return std::nullopt;
}

}  // namespace

std::string encode_log_record(const user_commit& c, std::uint64_t stored_version) {
  const std::vector<stream>& streams = c.state.streams;
  // A delta is against the stored version, which the version check made the loaded one.
  const bool all_streams = !c.remove && (stored_version == 0 || !c.streams_changed);
  stream_changes every;  // a removal's: none; else, for a record of all streams: each one, added
  if (all_streams)
    for (std::size_t i = 0; i < streams.size(); ++i) every.added.push_back(i);
  const stream_changes& changes = c.remove || all_streams ? every : *c.streams_changed;
  std::string out;
  out.reserve(128);
  wire_writer w(out);
  w.write_byte(format);
  w.write_string(c.state.u.id);
  w.write_varint(c.remove ? stored_version : stored_version + 1);
  w.write_bool(c.remove);
  w.write_string(c.remove ? std::string() : encode_state(c.state, /*with_streams=*/false));
  w.write_bool(all_streams);
  w.write_varint(changes.added.size());
  for (std::size_t i : changes.added) write_stream(w, streams.at(i), c.state.u.id);
  w.write_varint(changes.renewed.size());
  for (std::size_t i : changes.renewed) {
    w.write_string(streams.at(i).stream_id);
    w.write_signed(streams.at(i).expires_at_ms);
  }
  w.write_varint(changes.ended.size());
  for (const std::string& id : changes.ended) w.write_string(id);
  const auto& starts = c.remove ? std::vector<core::remembered_start>{} : c.new_starts;
  w.write_varint(starts.size());
  for (const core::remembered_start& s : starts) w.write_string(encode_start(s));
  const auto& audit = c.remove ? std::vector<audit_entry>{} : c.audit;
  w.write_varint(audit.size());
  for (const audit_entry& e : audit) {
    w.write_signed(e.at_ms);
    w.write_string(e.type);
    w.write_string(e.stream_id);
    w.write_string(e.request_id);
    w.write_string(e.video_id);
    w.write_string(e.reason);
  }
  return out;
}

result<log_record> decode_log_record(std::string_view bytes) {
  wire_reader r(bytes);
  log_record record;
  unsigned char f = 0;
  if (!r.read_byte(f) || (f != format && f != whole_state_format))
    return bad_request("a decision log record of an unknown format");
  if (!r.read_string(record.user_id) || !r.read_varint(record.version) ||
      !r.read_bool(record.remove) || !r.read_string(record.state))
    return bad_request("a truncated decision log record");
  const std::string truncated = "a truncated decision log record of user '" + record.user_id + "'";
  if (f == format && !read_streams(r, record)) return bad_request(truncated);
  std::size_t starts = 0;
  if (!r.read_count(starts)) return bad_request(truncated);
  record.starts.reserve(starts);
  for (std::size_t i = 0; i < starts; ++i) {
    std::string start_bytes;
    if (!r.read_string(start_bytes)) return bad_request(truncated);
    auto start = decode_start(start_bytes);
    if (!start) return start.error();
    record.starts.push_back(std::move(*start));
  }
  std::size_t lines = 0;
  if (!r.read_count(lines)) return bad_request(truncated);
  record.audit.resize(lines);
  for (audit_entry& e : record.audit)
    if (!read_audit_line(r, record.user_id, e)) return bad_request(truncated);
  if (!r.at_end())
    return bad_request("trailing bytes after the decision log record of user '" + record.user_id +
                       "'");
  if (f == whole_state_format)
    if (auto refused = split_whole_state(record)) return *refused;
  return record;
}

}  // namespace streamgate
