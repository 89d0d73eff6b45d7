#include "sim/cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include <indicators/indicators.hpp>

namespace tpusim::cli {

namespace {

// `v` with an SI prefix: 1234567 -> "1.23M", 12 -> "12".
std::string si(double v) {
  const char* prefixes[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (v >= 1000.0 && i < 4) {
    v /= 1000.0;
    ++i;
  }
  return fmt::format("{:.3g}{}", v, prefixes[i]);
}

}  // namespace

bool progress_wanted(bool quiet) { return !quiet && ::isatty(STDERR_FILENO); }

ProgressBar::ProgressBar(std::string label, std::string unit, bool enabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (!enabled_ || finished_ || total == 0) return;
  done_ = std::min(done, total);
  total_ = total;
  const auto now = std::chrono::steady_clock::now();
  if (bar_ && done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  if (!bar_) {
    namespace o = indicators::option;
    bar_ = std::make_unique<indicators::ProgressBar>(
        o::BarWidth{30}, o::Start{"["}, o::Fill{"="}, o::Lead{">"}, o::Remainder{" "}, o::End{"]"},
        o::PrefixText{label_ + " "}, o::ShowPercentage{true}, o::ShowElapsedTime{true},
        o::ShowRemainingTime{true}, o::MaxProgress{total_}, o::Stream{std::cerr});
  }
  const double s = std::chrono::duration<double>(now - start_).count();
  bar_->set_option(indicators::option::MaxProgress{total_});
  bar_->set_option(indicators::option::PostfixText{
      fmt::format("{}/{} {}, {} {}/s", si(double(done_)), si(double(total_)), unit_,
                  s >= 0.5 ? si(double(done_) / s) : "?", unit_)});  // no rate before 0.5 s
  bar_->set_progress(done_);
}

void ProgressBar::finish() {
  if (!bar_ || finished_) return;
  finished_ = true;
  if (!bar_->is_completed()) {
    bar_->mark_as_completed();
  }
}

}  // namespace tpusim::cli
