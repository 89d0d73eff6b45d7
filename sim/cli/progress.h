// Progress bars of long commands (done / total, rate, elapsed and remaining time) on stderr, drawn
// by the indicators library (third_party/indicators). Shown only when stderr is a terminal and
// --quiet was not given, so pipes, files and JSON output never carry them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace indicators {
class ProgressBar;
}

namespace tpusim::cli {

// True when a command should draw progress: not `quiet` and stderr is a terminal.
bool progress_wanted(bool quiet);

class ProgressBar {
 public:
  // `label` stands before the bar, `unit` after the counts and the rate ("131k/1.01G cycles, 754k
  // cycles/s");
  // `enabled` false makes every call a no-op.
  ProgressBar(std::string label, std::string unit, bool enabled);
  ~ProgressBar();  // ends the bar's line when one was drawn
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Moves the bar to `done` of `total`; redraws at most ~10 times a second (and at the end).
  void update(uint64_t done, uint64_t total);
  // Draws the final state and ends the line (also done by the destructor).
  void finish();

 private:
  std::string label_, unit_;
  bool enabled_;
  std::unique_ptr<indicators::ProgressBar> bar_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  uint64_t done_ = 0, total_ = 0;
  bool finished_ = false;
};

}  // namespace tpusim::cli
