// Where the shipped data lives (workloads/: arch presets, workloads, baseline devices, sweeps)
// and the one rule that tells a name of a shipped file from a path on the command line. Every
// loader of shipped data goes through here.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

namespace tpusim {

// The folder that holds workloads/: $TPUSIM_HOME, else PREFIX/share/tpusim when the running
// binary is PREFIX/bin/tpusim and that folder holds workloads/archs (an installed tpusim), else
// the build's source folder.
std::string data_root();

// True when `s` is a file path rather than the name of a shipped file: it contains a '/' or ends
// in one of `suffixes`.
bool looks_like_path(const std::string& s,
                     std::initializer_list<const char*> suffixes = {".yaml", ".yml"});

// The stems of the YAML files in data_root()/`dir` (e.g. "workloads/archs"), sorted.
std::vector<std::string> list_data_files(const std::string& dir);

// `name_or_path` as a file: a path is returned as given (a relative one taken against the folder
// of `relative_to` when that is not empty); a name is data_root()/`dir`/NAME.yaml, which must
// exist, else InputError "unknown WHAT 'NAME': not a file and not a shipped WHAT (NAMES)".
std::string resolve_data_file(const std::string& name_or_path, const std::string& dir,
                              const std::string& what, const std::string& relative_to = "");

}  // namespace tpusim
