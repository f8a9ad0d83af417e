#include "stack.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <stdexcept>

#include "diagnostics.hpp"
#include "free_port.hpp"
#include "http_client.hpp"
#include "wait.hpp"

#ifndef STREAMGATE_WORKER_BIN
#error "STREAMGATE_WORKER_BIN must name the streamgate-worker program"
#endif

namespace streamgate::it {

namespace {

std::filesystem::path make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/streamgate-it-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp " + pattern + " failed");
  return pattern;
}

bool mentions_port_in_use(const std::filesystem::path& log) {
  std::string text = tail_of(log, 200);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.find("in use") != std::string::npos;
}

std::string endpoint(unsigned short port) { return "tcp://127.0.0.1:" + std::to_string(port); }

}  // namespace

stack::stack(stack_options options)
    : options_(std::move(options)), dir_(make_temp_dir()), report_(open_report(dir_)) {
  add_log(report_, "streamgate-worker", dir_ / "worker.log");
  for (int i = 0; i < options_.api_count; ++i)
    add_log(report_, "streamgate-api " + std::to_string(i),
            dir_ / ("api" + std::to_string(i) + ".log"));
  apis_.resize(static_cast<std::size_t>(options_.api_count));

  // A free port can be taken by someone else before a child binds it: then start again on
  // other ports, a few times, rather than fail a test for a race outside it.
  constexpr int attempts = 3;
  for (int attempt = 1;; ++attempt) {
    choose_ports();
    try {
      start_worker();
      for (int i = 0; i < options_.api_count; ++i) start_api(i);
      wait_all_healthy(options_.start_timeout);
      return;
    } catch (const std::exception& e) {
      bool port_taken = mentions_port_in_use(dir_ / "worker.log");
      for (int i = 0; i < options_.api_count; ++i)
        port_taken =
            port_taken || mentions_port_in_use(dir_ / ("api" + std::to_string(i) + ".log"));
      for (auto& api : apis_) api.reset();
      worker_.reset();
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
  for (auto& api : apis_) api.reset();
  worker_.reset();
  close_report(report_, std::uncaught_exceptions() > 0);
}

void stack::choose_ports() {
  requests_port_ = free_port();
  do events_port_ = free_port();
  while (events_port_ == requests_port_);
  http_ports_.clear();
  while (http_ports_.size() < static_cast<std::size_t>(options_.api_count)) {
    const unsigned short p = free_port();
    if (p != requests_port_ && p != events_port_ &&
        std::find(http_ports_.begin(), http_ports_.end(), p) == http_ports_.end())
      http_ports_.push_back(p);
  }
}

std::vector<std::string> stack::worker_flags() const {
  std::vector<std::string> flags{
      "--requests", endpoint(requests_port_),
      "--events",   endpoint(events_port_),
      "--store",    "sqlite:" + (dir_ / "streamgate.db").string(),
      "--catalog",  STREAMGATE_CATALOG,
  };
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
      "--requests", endpoint(requests_port_),
      "--events",   endpoint(events_port_),
      "--web-root", STREAMGATE_WEB_ROOT,
  };
  if (options_.verdict_timeout) {
    flags.push_back("--verdict-timeout-ms");
    flags.push_back(std::to_string(*options_.verdict_timeout));
  }
  flags.insert(flags.end(), options_.more_api_flags.begin(), options_.more_api_flags.end());
  return flags;
}

void stack::start_worker() {
  if (worker_ && worker_->running())
    throw std::logic_error("start_worker: the worker is still running");
  worker_ =
      std::make_unique<process>(STREAMGATE_WORKER_BIN, worker_flags(), dir_, dir_ / "worker.log");
}

void stack::stop_worker() {
  if (worker_) worker_->stop();
}

void stack::kill9_worker() {
  if (worker_) worker_->kill9();
}

void stack::pause_worker() {
  if (worker_) worker_->pause();
}

void stack::resume_worker() {
  if (worker_) worker_->resume();
}

bool stack::worker_running() { return worker_ && worker_->running(); }

std::string stack::worker_exit() const {
  return worker_ ? worker_->exit_description() : "not started";
}

void stack::start_api(int api) {
  auto& slot = apis_.at(static_cast<std::size_t>(api));
  if (slot && slot->running()) throw std::logic_error("start_api: the api is still running");
  slot = std::make_unique<process>(STREAMGATE_API_BIN, api_flags(api), dir_,
                                   dir_ / ("api" + std::to_string(api) + ".log"));
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
  if (!worker_running())
    throw std::runtime_error("streamgate-worker " + worker_exit() + "; its output:\n" +
                             worker_log_tail() +
                             "command: " + (worker_ ? worker_->command_line() : ""));
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

std::string stack::worker_log_tail() const { return tail_of(dir_ / "worker.log", 30); }

std::string stack::api_log_tail(int api) const {
  return tail_of(dir_ / ("api" + std::to_string(api) + ".log"), 30);
}

}  // namespace streamgate::it
