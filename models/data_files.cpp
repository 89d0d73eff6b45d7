#include "models/data_files.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/errors.h"

namespace fs = std::filesystem;

namespace tpusim {

std::string data_root() {
  if (const char* home = std::getenv("TPUSIM_HOME"); home && *home) return home;
  // An installed binary (cmake --install, the .deb): PREFIX/bin/tpusim finds PREFIX/share/tpusim.
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path share = exe.parent_path().parent_path() / "share" / "tpusim";
    if (fs::is_directory(share / "workloads" / "archs", ec)) return share.string();
  }
#ifdef TPUSIM_SOURCE_DIR
  return TPUSIM_SOURCE_DIR;
#else
  return ".";
#endif
}

bool looks_like_path(const std::string& s, std::initializer_list<const char*> suffixes) {
  if (s.find('/') != std::string::npos) return true;
  for (const char* suffix : suffixes) {
    const std::string x(suffix);
    if (s.size() > x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0) return true;
  }
  return false;
}

std::vector<std::string> list_data_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(data_root()) / dir, ec))
    if (e.path().extension() == ".yaml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string resolve_data_file(const std::string& name_or_path, const std::string& dir,
                              const std::string& what, const std::string& relative_to) {
  if (looks_like_path(name_or_path)) {
    fs::path p(name_or_path);
    if (p.is_relative() && !relative_to.empty()) p = fs::path(relative_to).parent_path() / p;
    return p.string();
  }
  const fs::path p = fs::path(data_root()) / dir / (name_or_path + ".yaml");
  std::error_code ec;
  if (!fs::exists(p, ec))
    throw InputError(fmt::format("unknown {} '{}': not a file and not a shipped {} ({})", what,
                                 name_or_path, what, fmt::join(list_data_files(dir), ", ")));
  return p.string();
}

}  // namespace tpusim
