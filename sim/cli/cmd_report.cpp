// `tpusim report DIR`: Markdown and HTML report (with plots) of a run folder.
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "models/errors.h"
#include "sim/cli/commands.h"
#include "sim/common/files.h"
#include "sim/report/html_report.h"

namespace fs = std::filesystem;

namespace tpusim::cli {

namespace {

struct ReportArgs {
  std::string dir;
  bool force = false;
};

int run(const ReportArgs& a) {
  // The report writes report.md, report.html and plots/ inside DIR only (fixed names).
  for (const char* name : {"report.md", "report.html"}) {
    std::error_code ec;
    const fs::path f = fs::path(a.dir) / name;
    if (!a.force && fs::exists(f, ec)) throw FileExists(f.string());
  }
  return make_html_report(a.dir, std::cout);
}

}  // namespace

Command add_report_command(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  auto* c = app.add_subcommand("report", "Markdown + HTML report (with plots) of a run folder");
  c->add_option("dir", a->dir, "Folder with report.json (and optionally trace.json)")->required();
  c->add_flag("--force", a->force, "Replace an existing report.md / report.html");
  return {c, [a] { return run(*a); }};
}

}  // namespace tpusim::cli
