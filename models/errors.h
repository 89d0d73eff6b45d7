// Error types that map to the CLI's exit codes (DESIGN.md, "CLI contract").
#pragma once

#include <stdexcept>
#include <string>

namespace tpusim {

// Bad user input (a file, a field, a flag): exit code 2, one line naming the file and the problem.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace tpusim
