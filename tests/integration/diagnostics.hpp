#pragma once

// What a failing test shows about the programs it ran. A stack opens a report for its temp dir
// and adds the logs of its children; a Catch2 listener marks the reports that were open when an
// assertion failed (or that closed while an exception was in flight). When the test case ends,
// the tail of each marked report's logs is printed into the test's output and its dir is kept
// for a look; every other dir is deleted. A table-driven case with fifty stacks thus shows only
// the one that failed.

#include <filesystem>
#include <string>

namespace streamgate::it {

int open_report(const std::filesystem::path& temp_dir);
void add_log(int report, std::string name, const std::filesystem::path& log_file);
// A fact worth showing when the test fails, e.g. "a port was taken, retried".
void add_note(int report, std::string note);
void close_report(int report, bool exception_in_flight);

// The last `lines` lines of a file.
std::string tail_of(const std::filesystem::path& file, std::size_t lines = 60);

}  // namespace streamgate::it
