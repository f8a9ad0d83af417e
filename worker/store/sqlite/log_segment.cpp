#include "worker/store/sqlite/log_segment.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include "worker/store/store.hpp"

namespace streamgate {

namespace {

constexpr std::string_view magic = "SGDLOG1\n";
constexpr char record_kind = 1;
constexpr char batch_end_kind = 2;
constexpr std::size_t frame_head = 8;     // length, CRC
constexpr std::size_t body_head = 1 + 8;  // kind, seq
constexpr std::size_t max_dataset_id = 256;

std::uint32_t crc_of(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_le(std::string_view bytes, std::size_t at, int width) {
  std::uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  return v;
}

std::string os_error(const std::string& what, int error) {
  return what + ": " + std::strerror(error);
}

struct frame {
  char kind = 0;
  std::int64_t seq = 0;
  std::string_view bytes;  // a record's
  std::size_t end = 0;     // the offset past it
};

// The frame at `at`, if its length fits the file and its CRC checks.
std::optional<frame> frame_at(std::string_view all, std::size_t at) {
  if (all.size() - at < frame_head) return std::nullopt;
  const std::size_t length = get_le(all, at, 4);
  if (length < body_head || length > all.size() - at - frame_head) return std::nullopt;
  const std::string_view body = all.substr(at + frame_head, length);
  if (get_le(all, at + 4, 4) != crc_of(body)) return std::nullopt;
  return frame{body[0], static_cast<std::int64_t>(get_le(body, 1, 8)), body.substr(body_head),
               at + frame_head + length};
}

// The header's size if it checks, its dataset then in `s`; else 0.
std::size_t read_header(std::string_view all, scanned_segment& s) {
  if (all.size() < magic.size() + 4 || all.substr(0, magic.size()) != magic) return 0;
  const std::size_t id_size = get_le(all, magic.size(), 4);
  const std::size_t header_size = magic.size() + 4 + id_size + 4;
  if (id_size > max_dataset_id || all.size() < header_size) return 0;
  if (get_le(all, header_size - 4, 4) != crc_of(all.substr(0, header_size - 4))) return 0;
  s.header_whole = true;
  s.dataset_id = std::string(all.substr(magic.size() + 4, id_size));
  s.whole_through = header_size;
  return header_size;
}

// Frames from `at` on, as far as they check and follow `last_seq`; records count once their
// batch's end is read.
void read_batches(std::string_view all, std::size_t at, std::int64_t last_seq, scanned_segment& s) {
  std::vector<logged_record> batch;
  while (const auto f = frame_at(all, at)) {
    at = f->end;
    if (f->kind == record_kind && f->seq > last_seq) {
      batch.push_back({f->seq, std::string(f->bytes)});
      last_seq = f->seq;
    } else if (f->kind == batch_end_kind && !batch.empty() && f->seq == last_seq) {
      std::move(batch.begin(), batch.end(), std::back_inserter(s.records));
      batch.clear();
      s.whole_through = at;
    } else {
      break;
    }
  }
}

// A frame past the last whole batch that the store may have written there: a known kind (an end
// frame has no bytes) and a seq above that batch's, so never what a recycled file held before;
// these are checked before the CRC, so that the search costs little.
std::optional<frame> candidate_at(std::string_view all, std::size_t at, std::int64_t whole_seq) {
  if (all.size() - at < frame_head + body_head) return std::nullopt;
  const char kind = all[at + frame_head];
  if (kind != record_kind && (kind != batch_end_kind || get_le(all, at, 4) != body_head))
    return std::nullopt;
  if (static_cast<std::int64_t>(get_le(all, at + frame_head + 1, 8)) <= whole_seq)
    return std::nullopt;
  return frame_at(all, at);
}

// The greatest seq of the frames found from `from` (where the last whole batch ends, numbered up
// to `whole_seq`) on, byte by byte, when they belong to more than one batch; else 0. A crash
// tears only the last batch, since a batch is written once the one before is synced: a batch
// boundary among them means the batch at the bad spot had been confirmed (log_segment.hpp). A
// boundary is an end frame followed by a greater seq, or records numbered one after the other
// with bytes between them (their batch's end frame, damaged).
std::int64_t damaged_through(std::string_view all, std::size_t from, std::int64_t whole_seq) {
  std::optional<std::int64_t> lowest_end;
  std::optional<frame> last_record;
  bool boundary = false;
  std::int64_t greatest = 0;
  for (std::size_t at = from; at < all.size();) {
    const auto f = candidate_at(all, at, whole_seq);
    if (!f) {
      ++at;
      continue;
    }
    boundary = boundary || (lowest_end && f->seq > *lowest_end) ||
               (f->kind == record_kind && last_record && f->seq - 1 == last_record->seq &&
                at != last_record->end);
    if (f->kind == batch_end_kind)
      lowest_end = std::min(f->seq, lowest_end.value_or(f->seq));
    else
      last_record = f;
    greatest = std::max(greatest, f->seq);
    at = f->end;
  }
  return boundary ? greatest : 0;
}

}  // namespace

std::string log_segment::name_for(std::int64_t first_seq) {
  std::string digits = std::to_string(first_seq);
  return std::string(20 - digits.size(), '0') + digits + ".log";
}

std::int64_t log_segment::first_seq_of(const std::string& name) {
  if (name.size() != 24 || name.compare(20, 4, ".log") != 0) return 0;
  std::int64_t seq = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9' || seq > (INT64_MAX - 9) / 10) return 0;
    seq = seq * 10 + (name[i] - '0');
  }
  return seq;
}

scanned_segment log_segment::scan(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw store_unavailable("cannot read the decision log file '" + path.string() + "'");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    throw store_unavailable("cannot read the decision log file '" + path.string() + "'");
  scanned_segment s;
  s.file_size = bytes.size();
  const std::string_view all(bytes);
  // A frame numbered below the name's seq is what the file held before it was recycled.
  const std::int64_t first_seq = first_seq_of(path.filename().string());
  if (const std::size_t header_size = read_header(all, s))
    read_batches(all, header_size, first_seq - 1, s);
  // Only a crash, damage or a recycled file's old frames leave bytes past the last whole batch:
  // an undamaged segment costs no search.
  if (s.whole_through < all.size()) {
    const std::int64_t whole_seq = s.records.empty() ? first_seq - 1 : s.records.back().seq;
    s.damaged_through = damaged_through(all, s.whole_through, whole_seq);
    if (s.damaged_through != 0) s.damaged_from = whole_seq + 1;
  }
  return s;
}

log_segment::log_segment(std::filesystem::path path, const std::string& dataset_id,
                         std::uintmax_t reserve_bytes, bool recycled)
    : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(),
               recycled ? O_WRONLY | O_CLOEXEC : O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw store_unavailable(
        os_error("cannot open the decision log file '" + path_.string() + "'", errno));
  struct stat held {};
  if (recycled && ::fstat(fd_, &held) == 0) old_size_ = static_cast<std::uintmax_t>(held.st_size);
  // A new file's blocks at once, its length unchanged: each batch's append then fills blocks the
  // file has, where an append past them cost the worker's thread a block allocation per write
  // and per sync (bench/HISTORY.md, session 29). A hint: a file system without it appends as
  // before.
  if (!recycled) (void)::fallocate(fd_, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(reserve_bytes));
  header_.append(magic);
  put_u32(header_, static_cast<std::uint32_t>(dataset_id.size()));
  header_.append(dataset_id);
  put_u32(header_, crc_of(header_));
}

log_segment::~log_segment() {
  if (fd_ >= 0) ::close(fd_);
}

void log_segment::add_frame(char kind, std::int64_t seq, std::string_view bytes) {
  const std::size_t at = pending_.size();
  put_u32(pending_, static_cast<std::uint32_t>(body_head + bytes.size()));
  put_u32(pending_, 0);  // the CRC, once the body is in place
  pending_.push_back(kind);
  put_u64(pending_, static_cast<std::uint64_t>(seq));
  pending_.append(bytes);
  const std::uint32_t crc = crc_of(std::string_view(pending_).substr(at + frame_head));
  for (std::size_t i = 0; i < 4; ++i)
    pending_[at + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
}

void log_segment::add_record(std::int64_t seq, std::string_view bytes) {
  add_frame(record_kind, seq, bytes);
}

void log_segment::end_batch(std::int64_t seq) { add_frame(batch_end_kind, seq, {}); }

void log_segment::drop_pending() { pending_.clear(); }

void log_segment::write_at(std::string_view bytes, std::uintmax_t offset) {
  for (std::size_t written = 0; written < bytes.size();) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + written, bytes.size() - written,
                               static_cast<off_t>(offset + written));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category());
    written += static_cast<std::size_t>(n);
  }
}

void log_segment::sync_folder() const {
  const int dir = ::open(path_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) throw std::system_error(errno, std::generic_category());
  const int synced = ::fsync(dir);
  const int error = errno;
  ::close(dir);
  if (synced != 0) throw std::system_error(error, std::generic_category());
}

void log_segment::sync() {
  if (broken_)
    throw store_lost("the decision log file '" + path_.string() +
                     "' could not be cut back to its last synced batch after a failed write");
  if (pending_.empty()) return;
  try {
    // A segment's header goes with its first batch.
    const std::uintmax_t header = size_ == 0 ? header_.size() : 0;
    if (header > 0) write_at(header_, 0);
    write_at(pending_, size_ + header);
    if (::fdatasync(fd_) != 0) throw std::system_error(errno, std::generic_category());
    // The file's entry in its folder, once: a crash must not lose a segment whose batches were
    // confirmed.
    if (!folder_synced_) sync_folder();
    folder_synced_ = true;
  } catch (const std::system_error& e) {
    // What the failed write left after the last synced batch would hide every later batch from
    // a scan: cut it off before the next one.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0 || ::fdatasync(fd_) != 0)
      broken_ = true;
    else
      old_size_ = 0;  // what a recycled file held after that went too
    drop_pending();
    if (broken_)
      throw store_lost("cannot write the decision log file '" + path_.string() +
                       "', nor cut it back: " + e.what());
    throw store_unavailable("cannot write the decision log file '" + path_.string() +
                            "': " + e.what());
  }
  size_ += (size_ == 0 ? header_.size() : 0) + pending_.size();
  pending_.clear();
}

void log_segment::check_own() const {
  struct stat held {};
  struct stat named {};
  const bool looked = ::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0;
  // A name that cannot be looked up for another reason than its absence (the folder's search
  // permission taken away) says nothing of the file: a failure to retry, not a file lost (a
  // black-box probe saw "deleted or replaced" for a chmod).
  if (!looked && errno != ENOENT)
    throw store_unavailable(
        os_error("cannot check the decision log file '" + path_.string() + "'", errno));
  if (!looked || held.st_nlink == 0 || named.st_ino != held.st_ino || named.st_dev != held.st_dev)
    throw store_lost("the decision log file '" + path_.string() +
                     "' was deleted or replaced while this worker held it");
  // Only this object writes it, and only through sync().
  if (static_cast<std::uintmax_t>(held.st_size) != std::max(size_, old_size_))
    throw store_lost("another process wrote the decision log file '" + path_.string() +
                     "' while this worker held it");
}

}  // namespace streamgate
