#include "api/websocket/event_order.hpp"

#include <algorithm>
#include <utility>

#include "common/messages.hpp"

namespace streamgate {

std::optional<sequence_mark> parse_sequence_frame(std::string_view frame) {
  const auto parsed = parse_counted_id(frame);
  if (!parsed) return std::nullopt;
  return sequence_mark{std::string(parsed->id), parsed->count};
}

bool event_order::begin_fetch() {
  if (fetching_) return false;
  fetching_ = true;
  return true;
}

bool event_order::on_event(message_ptr text, sequence_mark mark, std::vector<message_ptr>& out) {
  if (fetching_) {
    held_.push_back({std::move(text), std::move(mark)});
    return false;
  }
  const bool next = last_ && last_->epoch == mark.epoch && mark.seq == last_->seq + 1;
  out.push_back(std::move(text));
  if (next) {
    last_->seq = mark.seq;
    return false;
  }
  // Sent anyway: it may be the verdict a client waits for. The snapshot that follows puts the
  // client's state right whatever it missed.
  return begin_fetch();
}

bool event_order::on_snapshot(message_ptr text, sequence_mark mark,
                              std::vector<message_ptr>& out) {
  std::vector<held_event> held = std::move(held_);
  held_.clear();
  fetching_ = false;
  const auto reflected = [&](const held_event& e) {
    return e.mark.epoch != mark.epoch || e.mark.seq <= mark.seq;
  };
  // Another epoch's events go first as if older; if they are in fact newer (the worker
  // restarted after this snapshot), the fetch asked for below corrects the state.
  const bool other_epoch = std::any_of(held.begin(), held.end(), [&](const held_event& e) {
    return e.mark.epoch != mark.epoch;
  });
  const auto later = std::stable_partition(held.begin(), held.end(), reflected);
  const auto by_seq = [](const held_event& a, const held_event& b) {
    return a.mark.seq < b.mark.seq;
  };
  std::stable_sort(held.begin(), later, by_seq);
  std::stable_sort(later, held.end(), by_seq);
  if (std::exchange(sent_snapshot_, true))
    for (auto it = held.begin(); it != later; ++it) out.push_back(std::move(it->text));
  out.push_back(std::move(text));
  last_ = std::move(mark);
  bool fetch_again = false;
  for (auto it = later; it != held.end(); ++it)
    fetch_again |= on_event(std::move(it->text), std::move(it->mark), out);
  if (other_epoch) fetch_again |= begin_fetch();
  return fetch_again;
}

void event_order::give_up(std::vector<message_ptr>& out) {
  for (held_event& e : held_) out.push_back(std::move(e.text));
  held_.clear();
  fetching_ = false;
  last_.reset();
}

}  // namespace streamgate
