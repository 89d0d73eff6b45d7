#include "sim/report/html_report.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/data_files.h"
#include "models/errors.h"
#include "sim/common/text.h"

namespace fs = std::filesystem;

namespace tpusim {

int make_html_report(const std::string& dir, std::ostream& out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(fmt::format("report {}: not a folder", dir));
  if (!fs::is_regular_file(fs::path(dir) / "report.json", ec))
    throw InputError(fmt::format(
        "report {}: no report.json in it (the folder a run writes its report to)", dir));
  const fs::path root = data_root();
  const fs::path script = root / "scripts" / "report.py";
  if (!fs::is_regular_file(script, ec))
    throw std::runtime_error(
        fmt::format("report: {} not found (set TPUSIM_HOME to the source tree)", script.string()));
  std::string python;
  std::vector<std::string> tried;
  if (const char* p = std::getenv("TPUSIM_PYTHON"); p && *p) {
    python = p;
    tried.push_back(python + " ($TPUSIM_PYTHON)");
    if (!fs::exists(python, ec)) python.clear();
  } else {
    const fs::path venv = root / "build" / "venv" / "bin" / "python";
    tried.push_back(venv.string());
    if (fs::exists(venv, ec)) python = venv.string();
  }
  if (python.empty())
    throw std::runtime_error(
        fmt::format("report: no Python environment with matplotlib (tried {}); create it with "
                    "{}/scripts/venv.sh",
                    fmt::join(tried, ", "), root.string()));
  const std::string cmd =
      fmt::format("{} {} {}", shell_quote(python), shell_quote(script.string()), shell_quote(dir));
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error(fmt::format("report: cannot start {}", python));
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.write(buf, std::streamsize(got));
  const int status = ::pclose(pipe);
  if (status == -1) throw std::runtime_error("report: lost the Python process");
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 1;
}

}  // namespace tpusim
