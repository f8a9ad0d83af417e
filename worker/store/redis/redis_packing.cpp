#include "worker/store/redis/redis_packing.hpp"

#include <cstdint>
#include <optional>
#include <utility>

#include "worker/store/redis/redis_keys.hpp"

namespace streamgate::redis_detail {

namespace {

// The first byte of every packed value, so a later layout can be told apart.
constexpr char packing_version = '\x01';

// Catalog entries and audit lines, compactly: unsigned LEB128 varints (signed ones zig-zag) and
// strings as a varint length and the bytes, after a packing version byte.
class packer final {
 public:
  packer() { out_.push_back(packing_version); }
  packer& number(std::int64_t n) {
    auto z = (static_cast<std::uint64_t>(n) << 1) ^ static_cast<std::uint64_t>(n >> 63);
    while (z >= 0x80) {
      out_.push_back(static_cast<char>((z & 0x7f) | 0x80));
      z >>= 7;
    }
    out_.push_back(static_cast<char>(z));
    return *this;
  }
  packer& text(std::string_view s) {
    number(static_cast<std::int64_t>(s.size()));
    out_.append(s);
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what packer wrote; ok() turns false at the first thing that does not fit.
class unpacker final {
 public:
  explicit unpacker(std::string_view in) : in_(in) {
    if (in_.empty() || in_.front() != packing_version) {
      ok_ = false;
    } else {
      in_.remove_prefix(1);
    }
  }
  std::int64_t number() {
    std::uint64_t z = 0;
    for (int shift = 0; ok_; shift += 7) {
      if (in_.empty() || shift > 63) {
        ok_ = false;
        break;
      }
      const auto byte = static_cast<unsigned char>(in_.front());
      in_.remove_prefix(1);
      z |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    if (!ok_) return 0;
    return static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
  }
  std::string text() {
    const std::int64_t size = number();
    if (!ok_ || size < 0 || static_cast<std::uint64_t>(size) > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, static_cast<std::size_t>(size)));
    in_.remove_prefix(static_cast<std::size_t>(size));
    return s;
  }
  // Everything read and nothing left over.
  bool done() const { return ok_ && in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

std::string pack_audit(const audit_entry& e) {
  // The user is the list's: not repeated in every line.
  return packer()
      .number(e.at_ms)
      .text(e.type)
      .text(e.stream_id)
      .text(e.request_id)
      .text(e.video_id)
      .text(e.reason)
      .take();
}

audit_entry unpack_audit(std::string_view bytes, const std::string& user_id) {
  unpacker in(bytes);
  audit_entry e;
  e.user_id = user_id;
  e.at_ms = in.number();
  e.type = in.text();
  e.stream_id = in.text();
  e.request_id = in.text();
  e.video_id = in.text();
  e.reason = in.text();
  if (!in.done()) unexpected("an audit line of user '" + user_id + "' is not one of ours");
  return e;
}

std::string pack_stream(const stream& s, const std::string& owner, stream_place place) {
  packer out;
  out.number(static_cast<std::int64_t>(place.seq)).number(static_cast<std::int64_t>(place.rank));
  // Its owner's, but for a state no decision makes: then said, so every state round-trips.
  if (s.user_id == owner)
    out.number(0);
  else
    out.number(1).text(s.user_id);
  return out.text(s.video_id).text(s.session_id).number(s.started_at_ms).take();
}

std::pair<stream, stream_place> unpack_stream(std::string id, std::string_view bytes,
                                              const std::string& owner) {
  unpacker in(bytes);
  std::pair<stream, stream_place> out;
  auto& [s, place] = out;
  s.stream_id = std::move(id);
  place.seq = static_cast<std::uint64_t>(in.number());
  place.rank = static_cast<std::uint64_t>(in.number());
  const std::int64_t own = in.number();
  s.user_id = own == 0 ? owner : in.text();
  s.video_id = in.text();
  s.session_id = in.text();
  s.started_at_ms = in.number();
  if (!in.done() || own < 0 || own > 1)
    unexpected("stream '" + s.stream_id + "' of user '" + owner + "' is not one of ours");
  return out;
}

std::string pack_lease(std::int64_t expires_at_ms) { return packer().number(expires_at_ms).take(); }

std::int64_t unpack_lease(std::string_view bytes, const std::string& user_id) {
  unpacker in(bytes);
  const std::int64_t expires_at_ms = in.number();
  if (!in.done()) unexpected("a stream lease of user '" + user_id + "' is not one of ours");
  return expires_at_ms;
}

std::string pack_video(const video& v) {
  return packer().text(v.title).number(v.duration_seconds).take();
}

video unpack_video(std::string id, std::string_view bytes) {
  unpacker in(bytes);
  video v;
  v.id = std::move(id);
  v.title = in.text();
  v.duration_seconds = static_cast<int>(in.number());
  if (!in.done()) unexpected("video '" + v.id + "' in " + std::string(videos_key) + " is not ours");
  return v;
}

std::string pack_plan(const plan& p) {
  return packer().number(p.max_streams).text(to_string(p.limit_policy)).take();
}

plan unpack_plan(std::string id, std::string_view bytes) {
  unpacker in(bytes);
  plan p;
  p.id = std::move(id);
  p.max_streams = static_cast<int>(in.number());
  const std::optional<policy> limit_policy = parse_policy(in.text());
  if (!in.done() || !limit_policy)
    unexpected("plan '" + p.id + "' in " + std::string(plans_key) + " is not ours");
  p.limit_policy = *limit_policy;
  return p;
}

}  // namespace streamgate::redis_detail
