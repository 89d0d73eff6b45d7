// `tpusim report DIR`: the Markdown and HTML report of a run folder, made by scripts/report.py.
#pragma once

#include <ostream>
#include <string>

namespace tpusim {

// Runs scripts/report.py on DIR (DIR/report.json, any other *.json run report there, and a Chrome
// trace: trace.json or trace.json.gz first, else any other) to write DIR/report.md,
// DIR/report.html and the plots DIR/plots/*.png. Python is $TPUSIM_PYTHON if set, else
// build/venv/bin/python under data_root() ($TPUSIM_HOME or the source tree; scripts/venv.sh
// creates it). The script's stdout goes to `out`, its stderr is inherited. Returns the script's
// exit code (0 ok, 2 bad input). Throws InputError when DIR or DIR/report.json is missing, and
// std::runtime_error naming the paths tried and the fix (scripts/venv.sh) when no Python
// environment is found.
int make_html_report(const std::string& dir, std::ostream& out);

}  // namespace tpusim
