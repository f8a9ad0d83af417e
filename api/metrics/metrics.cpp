#include "api/metrics/metrics.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <string_view>

#include "api/worker_link/link_stats.hpp"

namespace streamgate {

namespace {

void add(std::atomic<std::uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

std::uint64_t get(const std::atomic<std::uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

// The link's own counters and gauges, each one field of link_stats.
struct link_series {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  std::atomic<std::uint64_t> link_stats::*field;
};
constexpr std::array link_series_table{
    link_series{"streamgate_worker_event_gaps_total", "counter",
                "Gaps in a worker's numbered event messages this api heard (its PUB dropped what "
                "this api could not take); each refuses older playback tokens and resyncs every "
                "WebSocket.",
                &link_stats::event_gaps},
    link_series{"streamgate_worker_foreign_dataset_total", "counter",
                "Workers heard announcing another dataset than this api's: it serves nobody while "
                "one answers.",
                &link_stats::foreign_dataset},
    link_series{"streamgate_workers_alive", "gauge",
                "Workers this api routes to: of its dataset, answering pings and heard on their "
                "events.",
                &link_stats::workers_alive},
    link_series{"streamgate_worker_lives_unheard", "gauge",
                "Worker lives the store names alive that this api does not hear: while any, it "
                "serves no media (it would miss the ends they decide).",
                &link_stats::lives_unheard},
    link_series{"streamgate_worker_store_copies", "gauge",
                "1 while two workers of this api's dataset serve copies of one store (a SQLite "
                "file copied): it serves nobody.",
                &link_stats::store_copies},
    link_series{"streamgate_zmq_retries_total", "counter", "Requests resent to a worker.",
                &link_stats::resent},
};

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  char number[32];
  std::snprintf(number, sizeof number, "%.9g", value);
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(number).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(value)).append("\n");
}

// A worker's duration histogram, in seconds as Prometheus names them (microseconds on the wire).
void duration_histogram_of(std::string& out, const std::string& name, std::string_view help,
                           const duration_histogram& h) {
  header(out, name, "histogram", help);
  for (std::size_t i = 0; i < duration_histogram::bounds_us.size(); ++i) {
    char le[32];
    std::snprintf(le, sizeof le, "le=\"%g\"",
                  static_cast<double>(duration_histogram::bounds_us[i]) / 1e6);
    sample(out, name + "_bucket", le, h.cumulative[i]);
  }
  sample(out, name + "_bucket", "le=\"+Inf\"", h.count);
  sample(out, name + "_sum", "", static_cast<double>(h.sum_us) / 1e6);
  sample(out, name + "_count", "", h.count);
}

// Route patterns and statuses are ours, but escape anyway: a label value must stay well-formed.
std::string label_value(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

void api_metrics::count_request(std::string_view route, unsigned status) {
  const std::lock_guard lock(requests_mutex_);
  ++requests_[{std::string(route), status}];
}

void api_metrics::observe_verdict_latency(std::chrono::steady_clock::duration d) {
  const double seconds = std::chrono::duration<double>(d).count();
  for (std::size_t i = 0; i < latency_buckets.size(); ++i)
    if (seconds <= latency_buckets[i]) add(latency_counts_[i]);
  add(latency_count_);
  latency_sum_us_.fetch_add(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()),
      std::memory_order_relaxed);
}

std::string api_metrics::render(const link_stats* link, bool worker_up,
                                std::size_t websockets) const {
  std::string out;
  header(out, "streamgate_http_requests_total", "counter",
         "HTTP requests answered, by route and status.");
  {
    const std::lock_guard lock(requests_mutex_);
    for (const auto& [key, count] : requests_)
      sample(
          out, "streamgate_http_requests_total",
          "route=\"" + label_value(key.first) + "\",status=\"" + std::to_string(key.second) + "\"",
          count);
  }
  header(out, "streamgate_starts_rate_limited_total", "counter",
         "Starts answered 429 rate_limited by this api (--start-rate), never sent to a worker.");
  sample(out, "streamgate_starts_rate_limited_total", "", get(rate_limited_));
  header(out, "streamgate_websocket_connections", "gauge", "Open WebSockets on this api.");
  sample(out, "streamgate_websocket_connections", "", std::uint64_t{websockets});
  header(out, "streamgate_worker_up", "gauge", "1 when a worker answered a ping recently.");
  sample(out, "streamgate_worker_up", "", std::uint64_t{worker_up ? 1u : 0u});
  header(out, "streamgate_pending_calls", "gauge", "Worker calls waiting for a reply.");
  sample(out, "streamgate_pending_calls", "",
         std::uint64_t{pending_calls_.load(std::memory_order_relaxed)});
  // Dropped: requests ZeroMQ refused or the queue could not take, and unreadable messages.
  header(out, "streamgate_zmq_dropped_total", "counter",
         "ZeroMQ messages refused, not queued, or malformed.");
  sample(out, "streamgate_zmq_dropped_total", "",
         link ? get(link->refused) + get(link->queue_full) + get(link->malformed) : 0);
  for (const link_series& series : link_series_table) {
    header(out, series.name, series.type, series.help);
    sample(out, series.name, "", link ? get(link->*series.field) : 0);
  }
  header(out, "streamgate_verdict_latency_seconds", "histogram",
         "From sending a start to the worker to its reply, on this api.");
  for (std::size_t i = 0; i < latency_buckets.size(); ++i) {
    char le[32];
    std::snprintf(le, sizeof le, "le=\"%g\"", latency_buckets[i]);
    sample(out, "streamgate_verdict_latency_seconds_bucket", le, get(latency_counts_[i]));
  }
  sample(out, "streamgate_verdict_latency_seconds_bucket", "le=\"+Inf\"", get(latency_count_));
  sample(out, "streamgate_verdict_latency_seconds_sum", "",
         static_cast<double>(get(latency_sum_us_)) / 1e6);
  sample(out, "streamgate_verdict_latency_seconds_count", "", get(latency_count_));
  return out;
}

std::string render_worker_stats(const worker_stats& stats) {
  std::string out;
  header(out, "streamgate_worker_batch_size", "histogram",
         "Requests a worker decided per group commit (pings and scrapes not counted).");
  for (std::size_t i = 0; i < worker_stats::bounds.size(); ++i)
    sample(out, "streamgate_worker_batch_size_bucket",
           "le=\"" + std::to_string(worker_stats::bounds[i]) + "\"", stats.cumulative[i]);
  sample(out, "streamgate_worker_batch_size_bucket", "le=\"+Inf\"", stats.batches);
  sample(out, "streamgate_worker_batch_size_sum", "", stats.requests);
  sample(out, "streamgate_worker_batch_size_count", "", stats.batches);
  duration_histogram_of(out, "streamgate_worker_batch_seconds",
                        "How long a worker took to load, decide and durably commit a batch.",
                        stats.batch_time);
  duration_histogram_of(out, "streamgate_worker_background_step_seconds",
                        "How long each background step of a worker's store took (pruning the "
                        "audit trail and the remembered starts).",
                        stats.background_step_time);
  // Counted by the worker where it decides, committed decisions only (docs/design.md, "Metrics").
  const decision_counters& d = stats.decisions;
  header(out, "streamgate_worker_decisions_total", "counter",
         "Decisions the answering worker committed since it started, by outcome.");
  for (const auto& [label, count] :
       {std::pair{"allowed", d.allowed}, std::pair{"denied", d.denied},
        std::pair{"over_limit", d.over_limit}, std::pair{"evicted", d.evicted},
        std::pair{"expired", d.expired}, std::pair{"replayed", d.replayed}})
    sample(out, "streamgate_worker_decisions_total", std::string("outcome=\"") + label + "\"",
           count);
  header(out, "streamgate_worker_version_conflicts_total", "counter",
         "Commits the store refused because another worker committed the user first.");
  sample(out, "streamgate_worker_version_conflicts_total", "", d.conflicts);
  header(out, "streamgate_worker_starts_near_limit_total", "counter",
         "Starts the answering worker decided that left the user at one below the limit or more.");
  sample(out, "streamgate_worker_starts_near_limit_total", "", d.near_limit);
  // Absent when the worker's store could not tell (Redis unreachable): no sample beats a wrong one.
  if (stats.active_streams) {
    header(out, "streamgate_active_streams", "gauge",
           "Live streams of all users, as the worker's store holds them.");
    sample(out, "streamgate_active_streams", "", *stats.active_streams);
  }
  return out;
}

api_metrics& metrics() {
  static api_metrics instance;
  return instance;
}

}  // namespace streamgate
