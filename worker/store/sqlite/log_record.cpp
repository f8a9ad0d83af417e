#include "worker/store/sqlite/log_record.hpp"

#include "common/wire/wire_buffer.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate {

namespace {

constexpr unsigned char format = 1;

bool read_audit_line(wire_reader& r, const std::string& user_id, audit_entry& e) {
  e.user_id = user_id;
  return r.read_signed(e.at_ms) && r.read_string(e.type) && r.read_string(e.stream_id) &&
         r.read_string(e.request_id) && r.read_string(e.video_id) && r.read_string(e.reason);
}

}  // namespace

std::string encode_log_record(const user_commit& c, std::uint64_t stored_version) {
  std::string out;
  wire_writer w(out);
  w.write_byte(format);
  w.write_string(c.state.u.id);
  w.write_varint(c.remove ? stored_version : stored_version + 1);
  w.write_bool(c.remove);
  w.write_string(c.remove ? std::string() : encode_state(c.state));
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
  if (!r.read_byte(f) || f != format)
    return bad_request("a decision log record of an unknown format");
  std::size_t starts = 0;
  if (!r.read_string(record.user_id) || !r.read_varint(record.version) ||
      !r.read_bool(record.remove) || !r.read_string(record.state) || !r.read_count(starts))
    return bad_request("a truncated decision log record");
  record.starts.reserve(starts);
  for (std::size_t i = 0; i < starts; ++i) {
    std::string start_bytes;
    if (!r.read_string(start_bytes))
      return bad_request("a truncated decision log record of user '" + record.user_id + "'");
    auto start = decode_start(start_bytes);
    if (!start) return start.error();
    record.starts.push_back(std::move(*start));
  }
  std::size_t lines = 0;
  if (!r.read_count(lines))
    return bad_request("a truncated decision log record of user '" + record.user_id + "'");
  record.audit.resize(lines);
  for (audit_entry& e : record.audit)
    if (!read_audit_line(r, record.user_id, e))
      return bad_request("a truncated decision log record of user '" + record.user_id + "'");
  if (!r.at_end())
    return bad_request("trailing bytes after the decision log record of user '" + record.user_id +
                       "'");
  return record;
}

}  // namespace streamgate
