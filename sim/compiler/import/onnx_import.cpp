#include "sim/compiler/import/onnx_import.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "models/config.h"
#include "models/data_files.h"
#include "models/errors.h"
#include "sim/common/text.h"
#include "sim/compiler/workload.h"

namespace tpusim {

namespace fs = std::filesystem;

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Exit code of scripts/import_onnx.py when `import onnx` fails.
constexpr int kNoOnnxExit = 3;

}  // namespace

std::string import_onnx(const std::string& model, uint64_t batch) {
  std::error_code ec;
  if (!fs::is_regular_file(model, ec))
    throw InputError(fmt::format("import-onnx {}: cannot open", model));
  const fs::path root = data_root();
  const fs::path script = root / "scripts" / "import_onnx.py";
  if (!fs::is_regular_file(script, ec))
    throw InputError(fmt::format("import-onnx: {} not found (set TPUSIM_HOME to the source tree)",
                                 script.string()));
  const char* env = std::getenv("TPUSIM_VENV");
  const fs::path venv = env && *env ? fs::path(env) : root / "build" / "venv";
  const fs::path python = venv / "bin" / "python";
  const std::string fix = fmt::format("create it with {}/scripts/venv.sh{}", root.string(),
                                      env && *env ? fmt::format(" {}", venv.string()) : "");
  if (!fs::exists(python, ec))
    throw InputError(fmt::format("import-onnx: no Python environment at {}{}; {}", venv.string(),
                                 env && *env ? " ($TPUSIM_VENV)" : "", fix));

  // stderr goes to a temporary file so that the script's message can become the error.
  char err_path[] = "/tmp/tpusim-import-onnx-XXXXXX";
  const int fd = ::mkstemp(err_path);
  if (fd < 0) throw std::runtime_error("import-onnx: cannot create a temporary file");
  ::close(fd);
  std::string cmd = fmt::format("{} {} {}", shell_quote(python.string()),
                                shell_quote(script.string()), shell_quote(model));
  if (batch) cmd += fmt::format(" --batch {}", batch);
  cmd += " 2>" + shell_quote(err_path);
  std::string yaml, err;
  int status = -1;
  if (FILE* pipe = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, pipe)) > 0) yaml.append(buf, got);
    status = ::pclose(pipe);
  }
  {
    std::ifstream f(err_path);
    std::stringstream ss;
    ss << f.rdbuf();
    err = trimmed(ss.str());
  }
  std::remove(err_path);
  if (status == -1)
    throw std::runtime_error(fmt::format("import-onnx: cannot start {}", python.string()));
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  if (rc == kNoOnnxExit)
    throw InputError(fmt::format("import-onnx: the Python package 'onnx' is missing from {}; {}",
                                 venv.string(), fix));
  if (rc != 0) {
    // The script's messages start with "import-onnx: "; keep one prefix.
    const std::string prefix = "import-onnx: ";
    if (err.rfind(prefix, 0) == 0) err = err.substr(prefix.size());
    throw InputError(
        fmt::format("import-onnx: {}",
                    err.empty() ? fmt::format("{} exited with {}", script.string(), rc) : err));
  }
  // A conversion the workload format rejects is a bug of the importer or an unsupported model:
  // fail loudly before writing anything.
  try {
    parse_workload(yaml, model + " (imported)");
  } catch (const InputError& e) {
    throw InputError(fmt::format("import-onnx: the converted workload is invalid: {}", e.what()));
  }
  return yaml;
}

}  // namespace tpusim
