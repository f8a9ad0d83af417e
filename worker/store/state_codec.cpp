#include "worker/store/state_codec.hpp"

#include <limits>
#include <utility>

namespace streamgate {

namespace {

// Bumped with every change of the layout below; a state written by a newer worker is refused
// rather than misread. Layout of version 2, in this order:
//   byte     encoding version
//   string   user id, name
//   varint   which optional user fields follow (bit 0 max_streams, 1 policy, 2 plan)
//   zigzag   max_streams; varint policy; string plan (each only when its bit is set)
//   string   token_hash
//   varint   stream count, then per stream: string stream_id, owner (see below), video_id,
//            session_id; zigzag started_at_ms, zigzag (expires_at_ms - started_at_ms)
//   varint   seq
// Version 1 (read, never written) had the user's remembered starts between the streams and seq:
// a varint count, then each start as below. They now live beside the state, one value each:
//   byte     start encoding version (1)
//   string   request_id, video_id, session_id; zigzag decided_at_ms; varint flags (bit 0
//            allowed, 1 over_limit); string stream_id; zigzag expires_at_ms (allowed: minus
//            decided_at_ms); string reason; zigzag active, limit
// Times are stored as differences where one is near another (a lease is near its start), so a
// 41-bit millisecond clock costs its 6 bytes once per stream rather than twice. Differences wrap
// modulo 2^64, so every int64 pair round-trips, however far apart.
constexpr unsigned char encoding_version = 2;
constexpr unsigned char encoding_with_starts = 1;
constexpr unsigned char start_encoding_version = 1;

constexpr std::uint64_t has_max_streams = 1;
constexpr std::uint64_t has_policy = 2;
constexpr std::uint64_t has_plan = 4;
constexpr std::uint64_t user_flags = has_max_streams | has_policy | has_plan;

constexpr std::uint64_t start_allowed = 1;
constexpr std::uint64_t start_over_limit = 2;
constexpr std::uint64_t start_flags = start_allowed | start_over_limit;

// The smallest encoded stream and start (every string empty, every integer one byte): a count
// larger than the bytes left could hold is refused before anything is allocated for it.
constexpr std::size_t min_stream_bytes = 6;
constexpr std::size_t min_start_bytes = 10;

std::uint64_t zigzag(std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  return (bits << 1) ^ (value < 0 ? ~std::uint64_t{0} : 0);
}

std::int64_t unzigzag(std::uint64_t bits) {
  return static_cast<std::int64_t>((bits >> 1) ^ (~(bits & 1) + 1));
}

// Modular arithmetic on the bit patterns: defined for every pair, and inverse of each other.
std::int64_t wrapping_sub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t wrapping_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

class writer final {
 public:
  explicit writer(std::string& out) : out_(out) {}

  void byte(unsigned char b) { out_.push_back(static_cast<char>(b)); }
  void varint(std::uint64_t value) {
    while (value >= 0x80) {
      out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    out_.push_back(static_cast<char>(value));
  }
  void signed_varint(std::int64_t value) { varint(zigzag(value)); }
  void text(std::string_view s) {
    varint(s.size());
    raw(s);
  }
  void raw(std::string_view s) { out_.append(s); }

 private:
  std::string& out_;
};

// Why decoding stopped; caught once in decode_state and turned into bad_request.
struct malformed {
  std::string message;
};

class reader final {
 public:
  explicit reader(std::string_view bytes) : bytes_(bytes) {}

  std::size_t left() const { return bytes_.size() - pos_; }

  unsigned char byte() {
    if (left() < 1) truncated();
    return static_cast<unsigned char>(bytes_[pos_++]);
  }

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
      const unsigned char b = byte();
      // The tenth byte holds bit 63 only; anything more does not fit 64 bits.
      if (shift == 63 && b > 1)
        throw malformed{"the user state has a number over 64 bits at byte " +
                        std::to_string(pos_ - 1)};
      value |= std::uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return value;
    }
  }

  std::int64_t signed_varint() { return unzigzag(varint()); }

  int small_int(const char* what) {
    const std::int64_t value = signed_varint();
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
      throw malformed{"the user state's " + std::string(what) + " " + std::to_string(value) +
                      " is out of range"};
    return static_cast<int>(value);
  }

  std::string text() { return raw(varint()); }

  std::string raw(std::uint64_t size) {
    if (size > left()) truncated();
    std::string s(bytes_.substr(pos_, size));
    pos_ += size;
    return s;
  }

  std::size_t count(std::size_t min_item_bytes) {
    const std::uint64_t n = varint();
    if (n > left() / min_item_bytes) truncated();
    return static_cast<std::size_t>(n);
  }

  std::uint64_t flags(std::uint64_t known, const char* what) {
    const std::uint64_t value = varint();
    if (value & ~known)
      throw malformed{"the user state has unknown " + std::string(what) + " flags " +
                      std::to_string(value)};
    return value;
  }

  [[noreturn]] void truncated() const {
    throw malformed{"the user state is truncated (" + std::to_string(bytes_.size()) + " bytes)"};
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

// A stream's user id is its owner's but for a state no decision makes: tag 0 says "the owner's",
// any other tag n is followed by an explicit id of n - 1 bytes, so every state round-trips exactly.
void write_stream_owner(writer& w, const std::string& owner, const std::string& user_id) {
  if (user_id == owner) {
    w.varint(0);
    return;
  }
  w.varint(std::uint64_t{user_id.size()} + 1);
  w.raw(user_id);
}

std::string read_stream_owner(reader& r, const std::string& owner) {
  const std::uint64_t tag = r.varint();
  if (tag == 0) return owner;
  return r.raw(tag - 1);
}

void read_start(reader& r, core::remembered_start& s) {
  s.request_id = r.text();
  s.video_id = r.text();
  s.session_id = r.text();
  s.decided_at_ms = r.signed_varint();
  const std::uint64_t flags = r.flags(start_flags, "start");
  s.allowed = (flags & start_allowed) != 0;
  s.over_limit = (flags & start_over_limit) != 0;
  s.stream_id = r.text();
  const std::int64_t expires = r.signed_varint();
  s.expires_at_ms = s.allowed ? wrapping_add(s.decided_at_ms, expires) : expires;
  s.reason = r.text();
  s.active = r.small_int("active");
  s.limit = r.small_int("limit");
}

core::user_state read_state(reader& r, std::uint64_t version) {
  const unsigned char encoding = r.byte();
  if (encoding != encoding_version && encoding != encoding_with_starts)
    throw malformed{"unknown user state encoding version " + std::to_string(encoding) +
                    " (this worker reads versions " + std::to_string(encoding_with_starts) +
                    " and " + std::to_string(encoding_version) + ")"};

  core::user_state state;
  state.version = version;
  user& u = state.u;
  u.id = r.text();
  u.name = r.text();
  const std::uint64_t optional = r.flags(user_flags, "user field");
  if (optional & has_max_streams) u.max_streams = r.small_int("max_streams");
  if (optional & has_policy) {
    const std::uint64_t p = r.varint();
    if (p > static_cast<std::uint64_t>(policy::monitor))
      throw malformed{"the user state has an unknown policy " + std::to_string(p)};
    u.policy_override = static_cast<policy>(p);
  }
  if (optional & has_plan) u.plan = r.text();
  u.token_hash = r.text();

  state.streams.resize(r.count(min_stream_bytes));
  for (stream& s : state.streams) {
    s.stream_id = r.text();
    s.user_id = read_stream_owner(r, u.id);
    s.video_id = r.text();
    s.session_id = r.text();
    s.started_at_ms = r.signed_varint();
    s.expires_at_ms = wrapping_add(s.started_at_ms, r.signed_varint());
  }

  if (encoding == encoding_with_starts) {
    state.starts.resize(r.count(min_start_bytes));
    for (core::remembered_start& s : state.starts) read_start(r, s);
  }

  state.seq = r.varint();
  return state;
}

}  // namespace

std::string encode_state(const core::user_state& state, bool with_streams) {
  std::string out;
  // Enough for a user with a few streams, so the common state is one allocation.
  out.reserve(64 + (with_streams ? 96 * state.streams.size() : 0));
  writer w(out);
  w.byte(encoding_version);

  const user& u = state.u;
  w.text(u.id);
  w.text(u.name);
  w.varint((u.max_streams ? has_max_streams : 0) | (u.policy_override ? has_policy : 0) |
           (u.plan ? has_plan : 0));
  if (u.max_streams) w.signed_varint(*u.max_streams);
  if (u.policy_override) w.varint(static_cast<std::uint64_t>(*u.policy_override));
  if (u.plan) w.text(*u.plan);
  w.text(u.token_hash);

  w.varint(with_streams ? state.streams.size() : 0);
  for (const stream& s : state.streams) {
    if (!with_streams) break;
    w.text(s.stream_id);
    write_stream_owner(w, u.id, s.user_id);
    w.text(s.video_id);
    w.text(s.session_id);
    w.signed_varint(s.started_at_ms);
    w.signed_varint(wrapping_sub(s.expires_at_ms, s.started_at_ms));
  }

  w.varint(state.seq);
  return out;
}

std::string encode_start(const core::remembered_start& s) {
  std::string out;
  out.reserve(64 + s.request_id.size() + s.session_id.size());
  writer w(out);
  w.byte(start_encoding_version);
  w.text(s.request_id);
  w.text(s.video_id);
  w.text(s.session_id);
  w.signed_varint(s.decided_at_ms);
  w.varint((s.allowed ? start_allowed : 0) | (s.over_limit ? start_over_limit : 0));
  w.text(s.stream_id);
  // A denied start has no lease (0): stored as is, one byte, rather than as a difference.
  w.signed_varint(s.allowed ? wrapping_sub(s.expires_at_ms, s.decided_at_ms) : s.expires_at_ms);
  w.text(s.reason);
  w.signed_varint(s.active);
  w.signed_varint(s.limit);
  return out;
}

result<core::remembered_start> decode_start(std::string_view bytes) {
  try {
    reader r(bytes);
    const unsigned char encoding = r.byte();
    if (encoding != start_encoding_version)
      throw malformed{"unknown remembered start encoding version " + std::to_string(encoding)};
    core::remembered_start start;
    read_start(r, start);
    if (r.left() != 0)
      return bad_request(std::to_string(r.left()) + " trailing bytes after the remembered start");
    return start;
  } catch (const malformed& e) {
    return bad_request(e.message);
  }
}

result<core::user_state> decode_state(std::string_view bytes, std::uint64_t version) {
  try {
    reader r(bytes);
    core::user_state state = read_state(r, version);
    if (r.left() != 0)
      return bad_request(std::to_string(r.left()) + " trailing bytes after the user state (" +
                         std::to_string(bytes.size()) + " bytes)");
    return state;
  } catch (const malformed& e) {
    return bad_request(e.message);
  }
}

}  // namespace streamgate
