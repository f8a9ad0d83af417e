#pragma once

#include <filesystem>
#include <system_error>

#include "common/ids.hpp"

namespace streamgate::test {

// A directory of its own under the system's temp dir, removed with its content at scope exit, so
// tests never share a file and may run in parallel.
class temp_dir final {
 public:
  temp_dir() : path_(std::filesystem::temp_directory_path() / new_id("streamgate-test-")) {
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace streamgate::test
