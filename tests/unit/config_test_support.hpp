#pragma once

// What the configuration tests share (config_test.cpp: flags, defaults, environment;
// config_checks_test.cpp: files, addresses, pairs and secrets): an argument list, a fake
// environment, a temporary directory and the loaders over them.

#include <stdlib.h>  // mkdtemp

#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace streamgate::config_test {

// argv as main gets it: the program name first, pointers that outlive the call.
class arguments final {
 public:
  arguments(std::initializer_list<std::string> flags)
      : arguments(std::vector<std::string>(flags)) {}
  explicit arguments(const std::vector<std::string>& flags) : text_{"program"} {
    text_.insert(text_.end(), flags.begin(), flags.end());
    for (const std::string& t : text_) pointers_.push_back(t.c_str());
  }
  // pointers_ point into text_, so the object stays where it was built.
  arguments(const arguments&) = delete;
  arguments& operator=(const arguments&) = delete;

  int argc() const { return static_cast<int>(pointers_.size()); }
  const char* const* argv() const { return pointers_.data(); }

 private:
  std::vector<std::string> text_;
  std::vector<const char*> pointers_;
};

// A fake environment that also records which names were asked for.
class environment final {
 public:
  environment_lookup lookup() {
    return [this](const char* name) -> const char* {
      asked_.insert(name);
      const auto found = variables_.find(name);
      return found == variables_.end() ? nullptr : found->second.c_str();
    };
  }
  void set(const std::string& name, const std::string& value) { variables_[name] = value; }
  const std::set<std::string>& asked() const { return asked_; }

 private:
  std::map<std::string, std::string> variables_;
  std::set<std::string> asked_;
};

// A fresh directory under /tmp for config files, removed with everything in it at the end.
class temp_dir final {
 public:
  temp_dir() {
    std::string pattern = "/tmp/streamgate-config-test-XXXXXX";
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  std::string write(const std::string& name, const std::string& content) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  std::filesystem::path path_;
};

inline result<command_line<worker_config>> load_worker(const arguments& args, environment& env) {
  return load_worker_config(args.argc(), args.argv(), env.lookup());
}

inline result<command_line<api_config>> load_api(const arguments& args, environment& env) {
  return load_api_config(args.argc(), args.argv(), env.lookup());
}

template <class T>
void check_refused(const result<T>& loaded, const std::string& expected) {
  CAPTURE(expected);
  REQUIRE_FALSE(loaded.has_value());
  CHECK(loaded.error().code == error_code::bad_request);
  CHECK_THAT(loaded.error().message, Catch::Contains(expected));
}

inline const std::vector<std::string> worker_flags{"requests",
                                                   "events",
                                                   "store",
                                                   "catalog",
                                                   "lease-seconds",
                                                   "default-max-streams",
                                                   "policy",
                                                   "request-memory-seconds",
                                                   "audit-retention-days",
                                                   "audit-lines-per-user",
                                                   "max-batch",
                                                   "log-level",
                                                   "log-format",
                                                   "curve-secret-key-file",
                                                   "curve-allowed-clients-file",
                                                   "insecure-link",
                                                   "seed"};
inline const std::vector<std::string> api_flags{"listen",
                                                "requests",
                                                "events",
                                                "web-root",
                                                "docs-root",
                                                "verdict-timeout-ms",
                                                "io-threads",
                                                "log-level",
                                                "log-format",
                                                "accepted-start-ms",
                                                "max-connections",
                                                "max-connections-per-address",
                                                "auth",
                                                "admin-token",
                                                "allowed-origin",
                                                "media-root",
                                                "playback-token-seconds",
                                                "playback-key-file",
                                                "playback-key",
                                                "start-rate",
                                                "start-burst",
                                                "max-websockets-per-user",
                                                "curve-secret-key-file",
                                                "curve-worker-public-key-file"};

inline std::string environment_name(std::string flag) {
  for (char& c : flag) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return "STREAMGATE_" + flag;
}

}  // namespace streamgate::config_test
