#include "sanitizer_check.hpp"

#include <signal.h>

#include <array>
#include <fstream>
#include <string_view>

namespace streamgate::it {

namespace {

// How each sanitizer's report begins (UBSan's is "file:line:col: runtime error: ...").
constexpr std::array<std::string_view, 5> report_markers{
    "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
    "runtime error: ", "ERROR: UndefinedBehaviorSanitizer"};

}  // namespace

std::string sanitizer_report_in(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line))
    for (const std::string_view marker : report_markers)
      if (line.find(marker) != std::string::npos) return line;
  return {};
}

std::string unexpected_end(const process& child) {
  const std::string end = child.exit_description();
  if (end == "running" || end == "exited with 0" ||
      end.starts_with("killed by signal " + std::to_string(SIGKILL) + " "))
    return {};
  return end;
}

}  // namespace streamgate::it
