#pragma once

// In a sanitizer build (presets asan and tsan) the programs a test starts are sanitized
// too. A finding in one of them is written to its log and ends it (the presets' *SAN_OPTIONS:
// halt_on_error, abort_on_error, exitcode), often without the test noticing: a dead api may
// look like a network error the test expected. So every stack checks at its end that its
// children's logs hold no report and that each child ended the way the test ended it.

#include <filesystem>
#include <string>

#include "process.hpp"

namespace streamgate::it {

// The first line of a sanitizer report in `log` (ASan, LSan, UBSan, TSan), empty when none.
std::string sanitizer_report_in(const std::filesystem::path& log);

// A child stopped with SIGTERM must exit with 0 (a leak report at exit makes it 23); one the
// test killed with SIGKILL ends by that signal. Any other end (an abort, another exit status) is
// a crash or a sanitizer finding. Empty when the end is one of the expected ones.
std::string unexpected_end(const process& child);

}  // namespace streamgate::it
