// streamgate-bench: opens WebSockets to streamgate-api and drives starts (and stops) over them,
// measuring the time from a start to its verdict; or holds idle WebSockets (--hold) so the api's
// memory per connection can be read. One thread: at the rates the api reaches on this machine the
// client is not the bottleneck, and one thread needs no locks. See bench/README.md.

#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "latency.hpp"
#include "ws_options.hpp"

namespace streamgate::bench {

namespace {

using client = websocketpp::client<websocketpp::config::asio_client>;
using clock_type = std::chrono::steady_clock;
using websocketpp::connection_hdl;

// The api writes compact JSON and ids are [A-Za-z0-9_-], so a field's value is the text between
// `"name":"` and the next quote; no full parse is needed on the client's hot path.
std::optional<std::string_view> string_field(std::string_view json, std::string_view name) {
  const std::string key = "\"" + std::string(name) + "\":\"";
  const auto at = json.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const auto begin = at + key.size();
  const auto end = json.find('"', begin);
  if (end == std::string_view::npos) return std::nullopt;
  return json.substr(begin, end - begin);
}

double seconds(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

class ws_bench final {
 public:
  explicit ws_bench(ws_options options) : options_(std::move(options)) {
    client_.clear_access_channels(websocketpp::log::alevel::all);
    client_.clear_error_channels(websocketpp::log::elevel::all);
    client_.init_asio();
    tick_ = std::make_unique<boost::asio::steady_timer>(client_.get_io_service());
  }

  int run() {
    const int count = options_.hold > 0 ? options_.hold : options_.connections;
    connections_.resize(static_cast<std::size_t>(count));
    for (int i = 0; i < options_.connect_concurrency && i < count; ++i) connect_next();
    client_.run();
    return report();
  }

 private:
  struct connection {
    connection_hdl hdl;
    int user = 0;
    bool ready = false;  // the snapshot arrived, so the api routes this user's events here
  };
  struct pending {
    clock_type::time_point sent;
    bool measured;
  };

  // ---- opening -----------------------------------------------------------------------------
  void connect_next() {
    if (next_connect_ >= connections_.size()) return;
    const std::size_t index = next_connect_++;
    const int user = static_cast<int>(index % static_cast<std::size_t>(options_.users));
    connections_[index].user = user;
    const std::string uri = "ws://" + options_.host + ":" + std::to_string(options_.port) +
                            "/ws?user=" + options_.user_prefix + std::to_string(user);
    websocketpp::lib::error_code ec;
    client::connection_ptr con = client_.get_connection(uri, ec);
    if (ec) {
      std::fprintf(stderr, "streamgate-bench: %s: %s\n", uri.c_str(), ec.message().c_str());
      on_connect_failed();
      return;
    }
    // Small messages each way: Nagle plus delayed ACKs would add 40 ms to some verdicts.
    con->set_socket_init_handler([](connection_hdl, boost::asio::ip::tcp::socket& s) {
      s.set_option(boost::asio::ip::tcp::no_delay(true));
    });
    con->set_message_handler([this, index](connection_hdl, client::message_ptr m) {
      on_message(index, m->get_payload());
    });
    con->set_fail_handler([this](connection_hdl) { on_connect_failed(); });
    con->set_close_handler([this, index](connection_hdl) {
      if (closing_) return;
      if (!opened_at_ && !connections_[index].ready) return on_connect_failed();
      ++closed_by_server_;
      connections_[index].ready = false;
    });
    connections_[index].hdl = con->get_handle();
    client_.connect(con);
  }

  void on_connect_failed() {
    ++connect_failures_;
    settle_one();
  }

  void settle_one() {
    ++settled_;
    connect_next();
    if (settled_ == connections_.size()) all_settled();
  }

  void all_settled() {
    opened_at_ = clock_type::now();
    for (std::size_t i = 0; i < connections_.size(); ++i)
      if (connections_[i].ready) ready_.push_back(i);
    if (ready_.empty()) return finish();
    if (options_.hold > 0) {
      std::printf("holding %zu connections (%zu failed)\n", ready_.size(), connect_failures_);
      std::fflush(stdout);
      tick_->expires_after(std::chrono::duration_cast<clock_type::duration>(
          std::chrono::duration<double>(options_.hold_s)));
      tick_->async_wait([this](boost::system::error_code) { finish(); });
      return;
    }
    start_ = clock_type::now();
    measure_from_ = start_ + std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(options_.warmup_s));
    stop_sending_at_ = start_ + std::chrono::duration_cast<clock_type::duration>(
                                    std::chrono::duration<double>(options_.duration_s));
    if (options_.rate > 0) {
      on_tick();
    } else {
      for (int i = 0; i < options_.window; ++i) send_start(clock_type::now());
      schedule_deadline();
    }
  }

  // ---- driving -----------------------------------------------------------------------------
  void send_start(clock_type::time_point scheduled) {
    const std::size_t index = ready_[next_conn_++ % ready_.size()];
    const std::string id = run_tag_ + std::to_string(++started_);
    const std::string text = R"({"type":"start","videoId":")" + options_.video +
                             R"(","sessionId":"s)" + id + R"(","requestId":")" + id + R"("})";
    pending_.emplace(id, pending{scheduled, scheduled >= measure_from_});
    send(index, text);
  }

  void send(std::size_t index, const std::string& text) {
    websocketpp::lib::error_code ec;
    client_.send(connections_[index].hdl, text, websocketpp::frame::opcode::text, ec);
    if (ec) ++send_errors_;
  }

  // Fixed rate: every millisecond, send what the schedule says is due by now. Start k is due at
  // start_ + k / rate, so by `elapsed` starts 0 .. floor(elapsed * rate) are, and none due at
  // or after stop_sending_at_. (Counting only floor(elapsed * rate) sent start k one period after
  // the time its latency is measured from: every sample was 1 / rate too long.)
  void on_tick() {
    const auto now = clock_type::now();
    const double total = std::ceil(options_.duration_s * options_.rate);
    const double by_now = std::floor(seconds(now - start_) * options_.rate) + 1;
    const auto due = static_cast<std::uint64_t>(std::min(by_now, total));
    while (started_ < due) {
      const auto scheduled = start_ + std::chrono::duration_cast<clock_type::duration>(
                                          std::chrono::duration<double>(started_ / options_.rate));
      send_start(scheduled);
    }
    if (now >= stop_sending_at_) return drain();
    tick_->expires_after(std::chrono::milliseconds(1));
    tick_->async_wait([this](boost::system::error_code ec) {
      if (!ec) on_tick();
    });
  }

  void schedule_deadline() {
    tick_->expires_at(stop_sending_at_);
    tick_->async_wait([this](boost::system::error_code ec) {
      if (!ec) drain();
    });
  }

  // Sending is over: wait a little for the verdicts still outstanding, then stop.
  void drain() {
    draining_ = true;
    sending_ended_ = clock_type::now();
    if (pending_.empty()) return finish();
    tick_->expires_after(std::chrono::seconds(3));
    tick_->async_wait([this](boost::system::error_code ec) {
      if (!ec) finish();
    });
  }

  void finish() {
    if (closing_) return;
    closing_ = true;
    finished_ = clock_type::now();
    tick_->cancel();
    for (auto& c : connections_) {
      websocketpp::lib::error_code ec;
      if (!c.hdl.expired()) client_.close(c.hdl, websocketpp::close::status::going_away, "", ec);
    }
  }

  void on_message(std::size_t index, const std::string& text) {
    if (trace_) std::fprintf(stderr, "[%zu] %s\n", index, text.c_str());
    connection& c = connections_[index];
    if (!c.ready) {
      c.ready = true;  // the first message is the snapshot
      if (!opened_at_) settle_one();
      return;
    }
    const auto type = string_field(text, "type");
    if (!type) return;
    if (*type == "verdict") {
      on_verdict(index, text);
    } else if (*type == "error") {
      if (error_messages_++ == 0) std::fprintf(stderr, "streamgate-bench: first error: %s\n", text.c_str());
      if (auto id = string_field(text, "requestId")) complete(std::string(*id), false);
    }
  }

  void on_verdict(std::size_t index, std::string_view text) {
    const auto id = string_field(text, "requestId");
    if (!id) return;
    // Every socket of the user gets the verdict; the first one to arrive completes it.
    if (!complete(std::string(*id), true)) return;
    const bool allowed = text.find(R"("verdict":"allowed")") != std::string_view::npos;
    if (allowed) {
      ++allowed_;
      const auto stream = string_field(text, "streamId");
      if (options_.stop_after_start && stream) {
        send(index, R"({"type":"stop","streamId":")" + std::string(*stream) + R"("})");
        ++stops_;
      }
    } else {
      ++denied_;
    }
    if (options_.rate == 0 && !draining_) send_start(clock_type::now());
    if (draining_ && pending_.empty()) finish();
  }

  // Returns false when the requestId is not outstanding (a copy for another socket).
  bool complete(const std::string& id, bool verdict) {
    const auto it = pending_.find(id);
    if (it == pending_.end()) return false;
    const auto now = clock_type::now();
    if (it->second.measured && verdict) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - it->second.sent);
      samples_us_.push_back(static_cast<std::uint32_t>(us.count()));
    }
    if (verdict) ++verdicts_;
    pending_.erase(it);
    return true;
  }

  // ---- report ------------------------------------------------------------------------------
  int report() {
    const std::size_t opened = ready_.size();
    if (options_.hold > 0) {
      if (options_.json)
        std::printf(R"({"mode":"hold","requested":%d,"opened":%zu,"failed":%zu,"closed_by_server":%zu})"
                    "\n",
                    options_.hold, opened, connect_failures_, closed_by_server_);
      else
        std::printf("held %zu of %d connections (%zu failed, %zu closed by the server)\n", opened,
                    options_.hold, connect_failures_, closed_by_server_);
      return opened == static_cast<std::size_t>(options_.hold) ? 0 : 1;
    }
    const std::size_t measured = samples_us_.size();
    const double window_s = seconds(stop_sending_at_ - measure_from_);
    const double throughput = window_s > 0 ? static_cast<double>(measured) / window_s : 0;
    const latency_summary lat = summarize(samples_us_);
    const std::size_t lost = pending_.size();
    if (options_.json) {
      std::printf(
          R"({"mode":"%s","rate":%.0f,"window":%d,"users":%d,"connections":%zu,"duration_s":%.1f,)"
          R"("warmup_s":%.1f,"starts":%llu,"verdicts":%zu,"allowed":%zu,"denied":%zu,"stops":%zu,)"
          R"("errors":%zu,"send_errors":%zu,"lost":%zu,"connect_failures":%zu,)"
          R"("throughput_per_s":%.0f,"latency":%s})"
          "\n",
          options_.rate > 0 ? "rate" : "max", options_.rate, options_.window, options_.users,
          opened, options_.duration_s, options_.warmup_s,
          static_cast<unsigned long long>(started_), verdicts_, allowed_, denied_, stops_,
          error_messages_, send_errors_, lost, connect_failures_, throughput,
          to_json(lat).c_str());
    } else {
      std::printf("%s: %zu connections, %d users, %.1f s (%.1f s warm-up)\n",
                  options_.rate > 0 ? ("fixed rate " + std::to_string(static_cast<long>(options_.rate)) + "/s").c_str()
                                    : ("max rate, window " + std::to_string(options_.window)).c_str(),
                  opened, options_.users, options_.duration_s, options_.warmup_s);
      std::printf("  starts %llu  verdicts %zu (allowed %zu, denied %zu)  stops %zu  errors %zu  "
                  "lost %zu\n",
                  static_cast<unsigned long long>(started_), verdicts_, allowed_, denied_, stops_,
                  error_messages_ + send_errors_, lost);
      std::printf("  throughput %.0f verdicts/s (measured window)\n", throughput);
      std::printf("  latency %s\n", to_text(lat).c_str());
    }
    return (lost == 0 && error_messages_ == 0 && verdicts_ > 0) ? 0 : 1;
  }

  ws_options options_;
  const bool trace_ = std::getenv("STREAMGATE_BENCH_TRACE") != nullptr;  // print every message
  client client_;
  std::unique_ptr<boost::asio::steady_timer> tick_;
  std::vector<connection> connections_;
  std::vector<std::size_t> ready_;
  std::size_t next_connect_ = 0, settled_ = 0, next_conn_ = 0;
  std::optional<clock_type::time_point> opened_at_;
  clock_type::time_point start_, measure_from_, stop_sending_at_, sending_ended_, finished_;
  bool draining_ = false, closing_ = false;
  std::unordered_map<std::string, pending> pending_;
  std::vector<std::uint32_t> samples_us_;
  // The worker replays a requestId it saw in the last minutes: ids must be new in every run.
  const std::string run_tag_ =
      "wb" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000007) +
      "-";
  std::uint64_t started_ = 0;
  std::size_t verdicts_ = 0, allowed_ = 0, denied_ = 0, stops_ = 0, error_messages_ = 0,
              send_errors_ = 0, connect_failures_ = 0, closed_by_server_ = 0;
};

}  // namespace

}  // namespace streamgate::bench

int main(int argc, char** argv) {
  streamgate::bench::ws_bench bench(streamgate::bench::parse_options(argc, argv));
  return bench.run();
}
