// Output files: atomic writes and the clean-up of interrupted ones.
#pragma once

#include <string>

#include "models/errors.h"

namespace tpusim {

// An output file that exists and was not to be replaced (the CLI says how to: --force).
class FileExists : public InputError {
 public:
  explicit FileExists(const std::string& path) : InputError(path + ": file exists"), path_(path) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes `content` to `path` through a temporary file in the same folder and a rename, so an
// interrupted run never leaves a partial file. Refuses to replace an existing file unless
// `force` (FileExists).
void write_file_atomic(const std::string& path, const std::string& content, bool force);

// Installs SIGINT/SIGTERM/SIGHUP handlers that remove the temporary files of writes in progress
// (any thread) and then die of the signal, so an interrupted run leaves neither a partial report
// nor a stray temporary file. Called once by the CLI's main.
void install_interrupt_cleanup();

}  // namespace tpusim
