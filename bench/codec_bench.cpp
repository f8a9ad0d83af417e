// The codec work on the hot path of a start: the worker decodes the api's request and encodes
// its typed reply on the wire (common/wire), the api decodes that reply, renders the verdict
// event its sockets get (api/views) and decodes the client's start body.

#include <benchmark/benchmark.h>

#include <string>

#include "api/views/views.hpp"
#include "common/codec.hpp"
#include "common/wire/worker_codec.hpp"

namespace {

using namespace streamgate;

void BM_decode_request_start(benchmark::State& state) {
  const std::string json = encode_request(
      {7, start_request{"r_0123456789abcdef", "bench-u42", "v01", "ses_0123456789abcdef"}});
  for (auto _ : state) {
    auto decoded = decode_request(json);
    if (!decoded) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(json.size()));
}
BENCHMARK(BM_decode_request_start);

verdict allowed_verdict() {
  verdict v;
  v.request_id = "r_0123456789abcdef";
  v.user_id = "bench-u42";
  v.video_id = "v01";
  v.session_id = "ses_0123456789abcdef";
  v.allowed = true;
  v.granted = stream{"st_0123456789abcdef", v.user_id, v.video_id, v.session_id,
                     1'800'000'000'000, 1'800'000'090'000};
  v.active = 1;
  v.limit = 3;
  v.decided_at_ms = 1'800'000'000'000;
  return v;
}

void BM_render_verdict_event_allowed(benchmark::State& state) {
  const event_body event = allowed_verdict();
  for (auto _ : state) benchmark::DoNotOptimize(render_event(event, 1, nullptr));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_render_verdict_event_allowed);

void BM_render_verdict_event_denied(benchmark::State& state) {
  verdict v = allowed_verdict();
  v.allowed = false;
  v.reason = "limit_reached";
  for (int i = 0; i < 3; ++i) {
    stream s = *v.granted;
    s.stream_id += std::to_string(i);
    v.streams.push_back(s);
  }
  v.granted.reset();
  const event_body event = v;
  for (auto _ : state) benchmark::DoNotOptimize(render_event(event, 1, nullptr));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_render_verdict_event_denied);

void BM_encode_reply_body_allowed(benchmark::State& state) {
  const reply_body body = allowed_verdict();
  for (auto _ : state) benchmark::DoNotOptimize(encode_reply_body(body));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_encode_reply_body_allowed);

void BM_decode_reply_body_allowed(benchmark::State& state) {
  const std::string frame = encode_reply_body(allowed_verdict());
  for (auto _ : state) {
    auto decoded = decode_reply_body(frame);
    if (!decoded) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size()));
}
BENCHMARK(BM_decode_reply_body_allowed);

void BM_decode_start_body(benchmark::State& state) {
  const std::string json = R"({"videoId":"v01","sessionId":"b123456789-42"})";
  for (auto _ : state) {
    auto decoded = decode_start_body(json);
    if (!decoded) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_decode_start_body);

}  // namespace

BENCHMARK_MAIN();
