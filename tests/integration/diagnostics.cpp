#include "diagnostics.hpp"

// The listener interface of Catch2 v2 is only visible with this defined.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace streamgate::it {

namespace {

struct report {
  std::filesystem::path dir;
  std::vector<std::pair<std::string, std::filesystem::path>> logs;
  std::vector<std::string> notes;
  bool open = true;
  bool implicated = false;
};

struct registry {
  std::mutex mutex;
  int next_id = 0;
  std::map<int, report> reports;
};

registry& reports() {
  static registry r;
  return r;
}

class report_listener final : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) {
      auto& r = reports();
      std::lock_guard lock(r.mutex);
      for (auto& [id, rep] : r.reports)
        if (rep.open) rep.implicated = true;
    }
    return true;
  }

  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    auto& r = reports();
    std::lock_guard lock(r.mutex);
    const bool failed = stats.totals.assertions.failed > 0 || stats.totals.testCases.failed > 0;
    bool any_implicated = false;
    for (const auto& [id, rep] : r.reports) any_implicated = any_implicated || rep.implicated;
    for (auto& [id, rep] : r.reports) {
      if (failed && (rep.implicated || !any_implicated)) {
        print(stats.testInfo.name, rep);
      } else {
        std::error_code ignored;
        std::filesystem::remove_all(rep.dir, ignored);
      }
    }
    r.reports.clear();
  }

 private:
  void print(const std::string& test_name, const report& rep) {
    stream << "\n==== streamgate processes of \"" << test_name << "\" in " << rep.dir.string()
           << " (kept) ====\n";
    for (const auto& note : rep.notes) stream << "note: " << note << "\n";
    for (const auto& [name, file] : rep.logs)
      stream << "---- " << name << ", last lines of " << file.filename().string() << ":\n"
             << tail_of(file);
    stream << "==== end of process output ====\n";
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(report_listener)

int open_report(const std::filesystem::path& temp_dir) {
  auto& r = reports();
  std::lock_guard lock(r.mutex);
  const int id = ++r.next_id;
  r.reports[id].dir = temp_dir;
  return id;
}

void add_log(int id, std::string name, const std::filesystem::path& log_file) {
  auto& r = reports();
  std::lock_guard lock(r.mutex);
  r.reports[id].logs.emplace_back(std::move(name), log_file);
}

void add_note(int id, std::string note) {
  auto& r = reports();
  std::lock_guard lock(r.mutex);
  r.reports[id].notes.push_back(std::move(note));
}

void close_report(int id, bool exception_in_flight) {
  auto& r = reports();
  std::lock_guard lock(r.mutex);
  auto& rep = r.reports[id];
  rep.open = false;
  rep.implicated = rep.implicated || exception_in_flight;
}

std::string tail_of(const std::filesystem::path& file, std::size_t lines) {
  std::ifstream in(file);
  if (!in) return "(no output file)\n";
  std::deque<std::string> last;
  std::string line;
  std::size_t total = 0;
  while (std::getline(in, line)) {
    ++total;
    last.push_back(std::move(line));
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  if (total > last.size())
    out += "(" + std::to_string(total - last.size()) + " earlier lines not shown)\n";
  for (const auto& l : last) out += l + "\n";
  return out.empty() ? "(empty)\n" : out;
}

}  // namespace streamgate::it
