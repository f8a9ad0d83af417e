#include "worker/store/sqlite/fold_streams.hpp"

namespace streamgate {

void fold_streams::add(const log_record& r) {
  if (r.all_streams) {
    // Every stored row goes, including those made earlier in this fold: start again.
    *this = fold_streams{};
    stored_go_ = true;
  }
  // A record's own changes as table_writer applies them: ended, then renewed, then made.
  for (const std::string& id : r.ended) end(id);
  for (const auto& [id, expires_at_ms] : r.renewed) renew(id, expires_at_ms);
  for (std::size_t rank = 0; rank < r.added.size(); ++rank) {
    made_at_[r.added[rank].stream_id] = made_.size();
    made_.push_back({r.added[rank], r.version, rank});
  }
}

void fold_streams::end(const std::string& stream_id) {
  if (const auto m = made_at_.find(stream_id); m != made_at_.end()) {
    made_[m->second].live = false;
    made_at_.erase(m);
    return;
  }
  if (const auto n = renewed_at_.find(stream_id); n != renewed_at_.end()) {
    renewed_[n->second].live = false;
    renewed_at_.erase(n);
  }
  ended_.push_back(stream_id);
}

void fold_streams::renew(const std::string& stream_id, std::int64_t expires_at_ms) {
  if (const auto m = made_at_.find(stream_id); m != made_at_.end()) {
    made_[m->second].s.expires_at_ms = expires_at_ms;
    return;
  }
  if (const auto n = renewed_at_.find(stream_id); n != renewed_at_.end()) {
    renewed_[n->second].expires_at_ms = expires_at_ms;
    return;
  }
  renewed_at_[stream_id] = renewed_.size();
  renewed_.push_back({stream_id, expires_at_ms});
}

}  // namespace streamgate
