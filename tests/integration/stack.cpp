#include "stack.hpp"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>

#include "diagnostics.hpp"
#include "free_port.hpp"
#include "helpers.hpp"
#include "http_client.hpp"
#include "kept_cluster.hpp"
#include "sanitizer_check.hpp"
#include "wait.hpp"

#ifndef STREAMGATE_WORKER_BIN
#error "STREAMGATE_WORKER_BIN must name the streamgate-worker program"
#endif

namespace streamgate::it {

namespace {

std::string program_from(const char* variable, const char* built) {
  const char* named = std::getenv(variable);
  return named != nullptr && *named != '\0' ? named : built;
}

// A process's log is appended to: where it stood when the process started (0 when absent), and
// what it holds past that.
std::uintmax_t log_size(const std::filesystem::path& log) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(log, ec);
  return ec ? 0 : size;
}

std::string log_since(const std::filesystem::path& log, std::uintmax_t offset) {
  std::ifstream in(log);
  in.seekg(static_cast<std::streamoff>(offset));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool mentions_port_in_use(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.find("in use") != std::string::npos;
}

std::string endpoint(unsigned short port) { return "tcp://127.0.0.1:" + std::to_string(port); }

}  // namespace

std::filesystem::path make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/streamgate-it-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp " + pattern + " failed");
  return pattern;
}

std::string api_program() {
  return program_from("STREAMGATE_TEST_API_BIN", STREAMGATE_API_BIN);
}

std::string worker_program() {
  return program_from("STREAMGATE_TEST_WORKER_BIN", STREAMGATE_WORKER_BIN);
}

stack::stack(stack_options options)
    : options_(std::move(options)), dir_(make_temp_dir()), report_(open_report(dir_)) {
  if (const char* store = std::getenv("STREAMGATE_TEST_STORE"); store != nullptr) {
    if (std::string_view(store) == "redis") options_.redis = true;
    if (std::string_view(store) == "cluster") options_.redis = options_.cluster = true;
  }
  if (options_.separate_stores) options_.redis = options_.cluster = false;
  if (options_.worker_count > 1 && !options_.redis && !options_.separate_stores)
    throw std::logic_error("stack: several workers need the Redis store");
  for (int w = 0; w < options_.worker_count; ++w)
    add_log(report_, "streamgate-worker " + std::to_string(w), worker_log(w));
  workers_.resize(static_cast<std::size_t>(options_.worker_count));
  worker_log_offsets_.assign(workers_.size(), 0);
  if (options_.cluster) {
    try {
      cluster_ = take_cluster();
    } catch (const std::exception&) {
      close_report(report_, true);
      throw;
    }
  } else if (options_.redis) {
    add_log(report_, "redis-server", dir_ / "redis" / "redis.log");
    try {
      redis_ = std::make_unique<redis_server>(dir_ / "redis");
    } catch (const std::exception&) {
      close_report(report_, true);
      throw;
    }
  }
  for (int i = 0; i < options_.api_count; ++i)
    add_log(report_, "streamgate-api " + std::to_string(i), api_log(i));
  apis_.resize(static_cast<std::size_t>(options_.api_count));
  api_log_offsets_.assign(apis_.size(), 0);

  // A free port can be taken by someone else before a child binds it: then start again on
  // other ports, a few times, rather than fail a test for a race outside it.
  constexpr int attempts = 3;
  for (int attempt = 1;; ++attempt) {
    choose_ports();
    try {
      // Workers of other stores join once every api serves the first one's dataset: an api
      // serves nothing while it hears two (docs/design.md §8, "Dataset identity").
      const int serving = options_.separate_stores ? 1 : options_.worker_count;
      const auto start_workers = [&](int from, int to) {
        for (int w = from; w < to; ++w) start_worker(w);
      };
      // Healthy needs one live worker; a started stack needs every one of them (a worker whose
      // port was taken exits while another serves, and the retry below must see it).
      const auto wait_workers = [&](int from, int to) {
        for (int w = from; w < to; ++w)
          if (!wait_worker_started(w, options_.start_timeout) || !worker_running(w))
            throw std::runtime_error("streamgate-worker " + std::to_string(w) +
                                     " did not start: " + worker_exit(w));
      };
      start_workers(0, serving);
      for (int i = 0; i < options_.api_count; ++i) start_api(i);
      wait_all_healthy(options_.start_timeout);
      wait_workers(0, serving);
      wait_all_routing(options_.start_timeout);
      start_workers(serving, options_.worker_count);
      wait_workers(serving, options_.worker_count);
      return;
    } catch (const std::exception& e) {
      bool port_taken = false;
      for (int w = 0; w < options_.worker_count; ++w)
        port_taken = port_taken || mentions_port_in_use(worker_said(w));
      for (int i = 0; i < options_.api_count; ++i)
        port_taken = port_taken || mentions_port_in_use(api_said(i));
      for (auto& api : apis_) api.reset();
      for (auto& worker : workers_) worker.reset();
      if (!port_taken || attempt == attempts) {
        close_report(report_, true);
        throw;
      }
      add_note(report_, "a port was taken during startup, retrying on other ports: " +
                            std::string(e.what()));
    }
  }
}

stack::~stack() {
  // Apis first: they answer their in-flight requests while the worker is still there.
  std::vector<std::string> findings;
  const auto stop_and_check = [&findings](std::unique_ptr<process>& child, std::string name) {
    if (!child) return;
    child->stop();
    if (const std::string end = unexpected_end(*child); !end.empty())
      findings.push_back(name + " " + end);
    if (const std::string report = sanitizer_report_in(child->log_file()); !report.empty())
      findings.push_back(name + " logged a sanitizer report: " + report);
    child.reset();
  };
  for (std::size_t i = 0; i < apis_.size(); ++i)
    stop_and_check(apis_[i], "streamgate-api " + std::to_string(i));
  // A worker restarted just before the end may still be starting (slowly, under a sanitizer):
  // a SIGTERM before it handles signals would end it as if it had crashed.
  for (std::size_t w = 0; w < workers_.size(); ++w) {
    if (workers_[w] && workers_[w]->running()) wait_worker_started(static_cast<int>(w));
    stop_and_check(workers_[w], "streamgate-worker " + std::to_string(w));
  }
  redis_.reset();
  if (cluster_) return_cluster(std::move(cluster_), dir_);
  // Failed here rather than thrown: a destructor must not throw, and the test case's own
  // failure, when there is one, is already on its way.
  const bool exception_in_flight = std::uncaught_exceptions() > 0;
  if (!exception_in_flight)
    for (const std::string& finding : findings) FAIL_CHECK(finding);
  close_report(report_, exception_in_flight);
}

void stack::choose_ports() {
  // All distinct, and none the test's redis-server.
  std::vector<unsigned short> taken;
  if (redis_) taken.push_back(redis_->port());
  if (cluster_)
    for (std::size_t n = 0; n < redis_cluster::node_count; ++n) {
      taken.push_back(cluster_->port(n));
      taken.push_back(static_cast<unsigned short>(cluster_->port(n) + 10000));  // its bus
    }
  const auto fresh = [&taken] {
    unsigned short p = 0;
    do p = free_port();
    while (std::find(taken.begin(), taken.end(), p) != taken.end());
    taken.push_back(p);
    return p;
  };
  requests_ports_.clear();
  events_ports_.clear();
  for (int w = 0; w < options_.worker_count; ++w) {
    requests_ports_.push_back(fresh());
    events_ports_.push_back(fresh());
  }
  http_ports_.clear();
  for (int i = 0; i < options_.api_count; ++i) http_ports_.push_back(fresh());
  if (options_.relayed_link_api) {
    events_relay_ = std::make_unique<tcp_relay>(events_port(0));
    requests_relay_ = std::make_unique<tcp_relay>(requests_port(0));
  }
}

tcp_relay& stack::events_relay() {
  if (!events_relay_) throw std::logic_error("events_relay: no api's link is relayed");
  return *events_relay_;
}

tcp_relay& stack::requests_relay() {
  if (!requests_relay_) throw std::logic_error("requests_relay: no api's link is relayed");
  return *requests_relay_;
}

std::filesystem::path stack::worker_log(int worker) const {
  // Worker 0 keeps the name tests and diagnostics have always read.
  return dir_ / (worker == 0 ? std::string("worker.log")
                             : "worker" + std::to_string(worker) + ".log");
}

std::filesystem::path stack::api_log(int api) const {
  return dir_ / ("api" + std::to_string(api) + ".log");
}

std::string stack::worker_said(int worker) const {
  return log_since(worker_log(worker), worker_log_offsets_.at(static_cast<std::size_t>(worker)));
}

std::string stack::api_said(int api) const {
  return log_since(api_log(api), api_log_offsets_.at(static_cast<std::size_t>(api)));
}

std::vector<std::string> stack::worker_flags(int worker) const {
  std::vector<std::string> flags{
      "--requests", endpoint(requests_port(worker)),
      "--events",   endpoint(events_port(worker)),
      "--store",    cluster_ ? cluster_->url()
                    : redis_ ? redis_->url()
                             : "sqlite:" + (dir_ / (options_.separate_stores
                                                        ? "streamgate-" + std::to_string(worker) + ".db"
                                                        : std::string("streamgate.db")))
                                                  .string(),
      "--catalog",  STREAMGATE_CATALOG,
  };
  // Every test's Redis starts empty: its workers may seed it (any of them; the first one does).
  if (redis_ || cluster_) flags.push_back("--seed");
  if (options_.lease) {
    flags.push_back("--lease-seconds");
    flags.push_back(std::to_string(*options_.lease));
  }
  flags.insert(flags.end(), options_.more_worker_flags.begin(), options_.more_worker_flags.end());
  return flags;
}

std::vector<std::string> stack::api_flags(int api) const {
  std::vector<std::string> flags{
      "--listen",   "127.0.0.1:" + std::to_string(http_port(api)),
      "--web-root", STREAMGATE_WEB_ROOT,
  };
  // Every api connects to every worker (repeated flags), as a scaled-out deployment does.
  for (int w = 0; w < options_.worker_count; ++w) {
    const bool relayed = w == 0 && options_.relayed_link_api == api;
    flags.push_back("--requests");
    flags.push_back(endpoint(relayed ? requests_relay_->port() : requests_port(w)));
    flags.push_back("--events");
    flags.push_back(endpoint(relayed ? events_relay_->port() : events_port(w)));
  }
  if (options_.verdict_timeout) {
    flags.push_back("--verdict-timeout-ms");
    flags.push_back(std::to_string(*options_.verdict_timeout));
  }
  flags.insert(flags.end(), options_.more_api_flags.begin(), options_.more_api_flags.end());
  return flags;
}

void stack::start_worker(int worker) {
  auto& slot = workers_.at(static_cast<std::size_t>(worker));
  if (slot && slot->running()) throw std::logic_error("start_worker: the worker is still running");
  worker_log_offsets_.at(static_cast<std::size_t>(worker)) = log_size(worker_log(worker));
  slot = std::make_unique<process>(worker_program(), worker_flags(worker), dir_,
                                   worker_log(worker));
}

bool stack::wait_worker_started(int worker, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        if (!worker_running(worker)) return true;
        return worker_said(worker).find(" started: ") != std::string::npos;
      },
      timeout);
}

void stack::stop_worker(int worker) {
  if (auto& slot = workers_.at(static_cast<std::size_t>(worker))) slot->stop();
}

void stack::kill9_worker(int worker) {
  if (auto& slot = workers_.at(static_cast<std::size_t>(worker))) slot->kill9();
}

void stack::pause_worker(int worker) {
  if (auto& slot = workers_.at(static_cast<std::size_t>(worker))) slot->pause();
}

void stack::resume_worker(int worker) {
  if (auto& slot = workers_.at(static_cast<std::size_t>(worker))) slot->resume();
}

bool stack::worker_running(int worker) {
  auto& slot = workers_.at(static_cast<std::size_t>(worker));
  return slot && slot->running();
}

std::string stack::worker_exit(int worker) const {
  const auto& slot = workers_.at(static_cast<std::size_t>(worker));
  return slot ? slot->exit_description() : "not started";
}

void stack::start_api(int api) {
  auto& slot = apis_.at(static_cast<std::size_t>(api));
  if (slot && slot->running()) throw std::logic_error("start_api: the api is still running");
  api_log_offsets_.at(static_cast<std::size_t>(api)) = log_size(api_log(api));
  slot = std::make_unique<process>(api_program(), api_flags(api), dir_, api_log(api),
                                   options_.more_api_env);
}

void stack::stop_api(int api) {
  if (auto& slot = apis_.at(static_cast<std::size_t>(api))) slot->stop();
}

void stack::kill9_api(int api) {
  if (auto& slot = apis_.at(static_cast<std::size_t>(api))) slot->kill9();
}

bool stack::api_running(int api) {
  auto& slot = apis_.at(static_cast<std::size_t>(api));
  return slot && slot->running();
}

std::string stack::api_exit(int api) const {
  const auto& slot = apis_.at(static_cast<std::size_t>(api));
  return slot ? slot->exit_description() : "not started";
}

void stack::check_alive(int api) {
  // One live worker is enough to be healthy: the others may have been stopped by the test.
  bool any_worker = false;
  for (int w = 0; w < options_.worker_count; ++w) any_worker = any_worker || worker_running(w);
  if (!any_worker)
    throw std::runtime_error("streamgate-worker " + worker_exit() + "; its output:\n" +
                             worker_log_tail() + "command: " +
                             (workers_.front() ? workers_.front()->command_line() : ""));
  if (!api_running(api))
    throw std::runtime_error("streamgate-api " + api_exit(api) + "; its output:\n" +
                             api_log_tail(api) +
                             "command: " + apis_.at(static_cast<std::size_t>(api))->command_line());
}

void stack::wait_healthy(int api, std::chrono::milliseconds timeout) {
  std::string last = "no answer";
  const bool healthy = wait_until(
      [&] {
        check_alive(api);
        // A port this api failed to bind may be another test's api, whose answer proves nothing
        // (its port was free when chosen, then taken): only this api's own word that it listens
        // there does. A port taken ends the wait, for the start's retry on other ports.
        const std::string said = api_said(api);
        if (mentions_port_in_use(said))
          throw std::runtime_error("api " + std::to_string(api) + ": its port was taken");
        if (said.find("listening on 127.0.0.1:" + std::to_string(http_port(api)) + ",") ==
            std::string::npos)
          return false;
        try {
          http_client probe(http_port(api), 2s);
          const auto r = probe.get("/health");
          last = r.describe();
          return r.status == 200;
        } catch (const http_error& e) {
          last = e.what();
          return false;
        }
      },
      timeout);
  if (!healthy)
    throw std::runtime_error(
        "api " + std::to_string(api) + " on port " + std::to_string(http_port(api)) +
        " not healthy within " + std::to_string(timeout.count()) + " ms; last answer: " + last +
        "\napi output:\n" + api_log_tail(api) + "worker output:\n" + worker_log_tail());
}

void stack::wait_all_healthy(std::chrono::milliseconds timeout) {
  for (int i = 0; i < options_.api_count; ++i) wait_healthy(i, timeout);
}

void stack::wait_all_routing(std::chrono::milliseconds timeout) {
  // Healthy needs one worker heard. A test starts once every api routes to every worker of its
  // dataset (one of them when each has its own store): an event of a worker an api has not
  // joined yet reaches that api's sockets only as the snapshot it fetches once it joins
  // (docs/design.md §4), and a test that counts events would see a race of its own start.
  const double expected = options_.separate_stores ? 1 : options_.worker_count;
  for (int api = 0; api < options_.api_count; ++api) {
    double alive = -1;
    const bool routing = wait_until(
        [&] {
          check_alive(api);
          try {
            http_client probe(http_port(api), 2s);
            const auto r = probe.get("/metrics");
            alive = sample_value(r.body, "streamgate_workers_alive");
            return r.status == 200 && alive >= expected;
          } catch (const http_error&) {
            return false;
          }
        },
        timeout);
    if (!routing)
      throw std::runtime_error(
          "api " + std::to_string(api) + " routes to " + std::to_string(alive) + " workers, not " +
          std::to_string(expected) + ", within " + std::to_string(timeout.count()) +
          " ms\napi output:\n" + api_log_tail(api) + "worker output:\n" + worker_log_tail());
  }
}

std::string stack::worker_log_tail(int worker) const { return tail_of(worker_log(worker), 30); }

std::string stack::api_log_tail(int api) const { return tail_of(api_log(api), 30); }

}  // namespace streamgate::it
