// The operator-facing pieces of the api apart from any socket: the OpenAPI document matches the
// route table both ways, the metrics render in Prometheus text format, and JSON log lines stay
// valid JSON whatever the message holds.

#include <rapidjson/document.h>
#include <spdlog/details/log_msg.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "api/routes/api_routes.hpp"
#include "api/routes/embedded.hpp"
#include "api/worker_link/link_stats.hpp"
#include "api/metrics/metrics.hpp"
#include "common/log.hpp"
#include "common/worker_replies.hpp"
#include "worker/server/batch_stats.hpp"

namespace streamgate {
namespace {

using endpoint = std::pair<std::string, std::string>;  // method (lower case), path

std::set<endpoint> routes_of_the_api() {
  std::set<endpoint> out;
  const router routes = make_api_router();
  for (const route& r : routes.routes()) {
    std::string method(http::to_string(r.method));
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.emplace(std::move(method), std::string(r.pattern));
  }
  return out;
}

std::set<endpoint> operations_of_the_document() {
  rapidjson::Document doc;
  doc.Parse(openapi_document.data(), openapi_document.size());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  REQUIRE(doc.HasMember("openapi"));
  CHECK(std::string(doc["openapi"].GetString()).rfind("3.", 0) == 0);
  std::set<endpoint> out;
  static const std::set<std::string> methods{"get",     "put",  "post",  "delete",
                                             "options", "head", "patch", "trace"};
  for (const auto& path : doc["paths"].GetObject())
    for (const auto& op : path.value.GetObject())
      if (methods.count(op.name.GetString()) != 0)
        out.emplace(op.name.GetString(), path.name.GetString());
  return out;
}

}  // namespace

TEST_CASE("every route of the api is in api/openapi.json and every operation there is routed",
          "[openapi]") {
  const std::set<endpoint> routed = routes_of_the_api();
  const std::set<endpoint> documented = operations_of_the_document();
  for (const endpoint& e : routed) {
    CAPTURE(e.first, e.second);
    CHECK(documented.count(e) == 1);
  }
  for (const endpoint& e : documented) {
    CAPTURE(e.first, e.second);
    CHECK(routed.count(e) == 1);
  }
}

TEST_CASE("the /docs page is compiled in and loads its renderer from /docs/assets/", "[openapi]") {
  CHECK(docs_page.find("/docs/assets/swagger-ui-bundle.js") != std::string_view::npos);
  CHECK(docs_page.find("/openapi.json") != std::string_view::npos);
}

TEST_CASE("metrics count verdicts, ends and requests in Prometheus text format", "[metrics]") {
  api_metrics m;
  m.count_request("/api/v1/users/{id}/streams", 201);
  m.count_request("/api/v1/users/{id}/streams", 201);
  // Every label is one of the router's patterns today; one with a quote, a backslash or a line
  // break must still leave the text well-formed.
  m.count_request("a\"b\\c\nd", 400);
  m.observe_verdict_latency(std::chrono::milliseconds(3));
  m.set_pending_calls(4);
  link_stats link;
  link.resent = 5;
  link.refused = 1;
  link.malformed = 2;
  link.workers_alive = 2;
  link.lives_unheard = 1;
  link.store_copies = 1;

  const std::string text = m.render(&link, true, 7);
  INFO(text);
  const auto has = [&](const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
  };
  // Decisions are the workers' to count (render_worker_stats), not an api's.
  CHECK(text.find("streamgate_verdicts_total") == std::string::npos);
  CHECK(
      has(R"(streamgate_http_requests_total{route="/api/v1/users/{id}/streams",status="201"} 2)"));
  CHECK(has(R"(streamgate_http_requests_total{route="a\"b\\c\nd",status="400"} 1)"));
  CHECK(has("streamgate_websocket_connections 7"));
  CHECK(has("streamgate_worker_up 1"));
  CHECK(has("streamgate_workers_alive 2"));
  CHECK(has("streamgate_worker_lives_unheard 1"));
  CHECK(has("streamgate_worker_store_copies 1"));
  CHECK(has("streamgate_pending_calls 4"));
  CHECK(has("streamgate_zmq_retries_total 5"));
  CHECK(has("streamgate_zmq_dropped_total 3"));
  CHECK(has(R"(streamgate_verdict_latency_seconds_bucket{le="0.0025"} 0)"));
  CHECK(has(R"(streamgate_verdict_latency_seconds_bucket{le="0.005"} 1)"));
  // Cumulative: every bound above the latency counts it too.
  CHECK(has(R"(streamgate_verdict_latency_seconds_bucket{le="2.5"} 1)"));
  CHECK(has(R"(streamgate_verdict_latency_seconds_bucket{le="+Inf"} 1)"));
  CHECK(has("streamgate_verdict_latency_seconds_count 1"));
  CHECK(has("streamgate_verdict_latency_seconds_sum 0.003"));
  CHECK(has("# TYPE streamgate_verdict_latency_seconds histogram"));

  // No worker heard, and no link yet (the api is starting): down, and nothing dropped or resent.
  const std::string down = m.render(nullptr, false, 0);
  CAPTURE(down);
  CHECK(down.find("streamgate_worker_up 0\n") != std::string::npos);
  CHECK(down.find("streamgate_zmq_dropped_total 0\n") != std::string::npos);
  CHECK(down.find("streamgate_zmq_retries_total 0\n") != std::string::npos);
  CHECK(down.find("streamgate_workers_alive 0\n") != std::string::npos);
}

TEST_CASE("a worker's batch sizes and live streams become a histogram and a gauge",
          "[metrics][worker]") {
  batch_stats stats;
  const decision_counters none;
  const worker_stats empty = stats.report(std::nullopt, none);
  CHECK(empty.batches == 0);
  CHECK(empty.requests == 0);
  CHECK(empty.cumulative[0] == 0);
  CHECK(empty.cumulative[1] == 0);
  CHECK_FALSE(empty.active_streams);
  for (const std::size_t n : {1u, 1u, 3u, 512u, 20000u, 0u}) stats.observe(n);
  CHECK(stats.batches() == 5);
  CHECK(stats.requests() == 20517);

  decision_counters decided;
  decided.allowed = 5;
  decided.over_limit = 2;
  decided.conflicts = 1;
  decided.near_limit = 3;
  decided.evicted = 4;
  decided.expired = 6;
  decided.replayed = 8;
  const worker_stats reported = stats.report(7, decided);
  CHECK(reported.decisions == decided);
  const std::string text = render_worker_stats(reported);
  CAPTURE(text);
  CHECK(text.find("# TYPE streamgate_worker_batch_size histogram\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_batch_size_bucket{le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_batch_size_bucket{le=\"2\"} 2\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_batch_size_bucket{le=\"4\"} 3\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_batch_size_bucket{le=\"512\"} 4\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_batch_size_bucket{le=\"16384\"} 4\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_batch_size_bucket{le=\"+Inf\"} 5\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_batch_size_sum 20517\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_batch_size_count 5\n") != std::string::npos);
  CHECK(text.find("# TYPE streamgate_active_streams gauge\n") != std::string::npos);
  CHECK(text.find("streamgate_active_streams 7\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_decisions_total{outcome=\"allowed\"} 5\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_decisions_total{outcome=\"over_limit\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("streamgate_worker_decisions_total{outcome=\"denied\"} 0\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_decisions_total{outcome=\"evicted\"} 4\n") !=
        std::string::npos);
  CHECK(text.find("streamgate_worker_decisions_total{outcome=\"expired\"} 6\n") !=
        std::string::npos);
  CHECK(text.find("streamgate_worker_decisions_total{outcome=\"replayed\"} 8\n") !=
        std::string::npos);
  CHECK(text.find("streamgate_worker_version_conflicts_total 1\n") != std::string::npos);
  CHECK(text.find("streamgate_worker_starts_near_limit_total 3\n") != std::string::npos);
  CHECK(text.find("# TYPE streamgate_worker_batch_seconds histogram\n") != std::string::npos);
  CHECK(text.find("# TYPE streamgate_worker_background_step_seconds histogram\n") !=
        std::string::npos);
  CHECK(text.find("streamgate_worker_batch_seconds_count 0\n") != std::string::npos);

  // Durations in microseconds on the wire, seconds in the text; a bound counts what equals it.
  using std::chrono::microseconds;
  for (const auto us : {100, 101, 2'000'000}) stats.observe_batch_time(microseconds(us));
  stats.observe_step_time(microseconds(0));
  const std::string timed = render_worker_stats(stats.report(7, decided));
  CAPTURE(timed);
  for (const char* line : {"streamgate_worker_batch_seconds_bucket{le=\"0.0001\"} 1\n",
                           "streamgate_worker_batch_seconds_bucket{le=\"0.00025\"} 2\n",
                           "streamgate_worker_batch_seconds_bucket{le=\"1\"} 2\n",
                           "streamgate_worker_batch_seconds_bucket{le=\"+Inf\"} 3\n",
                           "streamgate_worker_batch_seconds_sum 2.000201\n",
                           "streamgate_worker_batch_seconds_count 3\n",
                           "streamgate_worker_background_step_seconds_bucket{le=\"0.0001\"} 1\n",
                           "streamgate_worker_background_step_seconds_count 1\n"})
    CHECK(timed.find(line) != std::string::npos);
  // A store that cannot tell gives no gauge rather than a wrong one.
  CHECK(render_worker_stats(stats.report(std::nullopt, none)).find("streamgate_active_streams") ==
        std::string::npos);
}

TEST_CASE("a JSON log line is valid JSON whatever the message holds", "[log]") {
  const auto formatter = make_log_formatter("json");
  const std::string message = "bad value '\"quoted\"\\ \n\t\x01' end";
  const spdlog::details::log_msg msg("streamgate-api", spdlog::level::warn, message);
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  const std::string line(out.data(), out.size());
  CAPTURE(line);
  REQUIRE(!line.empty());
  CHECK(line.back() == '\n');
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size() - 1);
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["msg"].GetString()) == message);
  CHECK(std::string(doc["level"].GetString()) == "warning");
  CHECK(std::string(doc["program"].GetString()) == "streamgate-api");
}

}  // namespace streamgate
