#include "sim/common/files.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "models/errors.h"

namespace fs = std::filesystem;

namespace tpusim {

namespace {

// Temporary files being written, for the signal handler: fixed slots (no allocation, no lock in
// the handler). A slot is claimed by its `state` 0 -> 1, published 1 -> 2 once `path` is set.
struct TempSlot {
  std::atomic<int> state{0};
  char path[4096];
};
std::array<TempSlot, 64> g_temp_slots;

int claim_temp_slot(const std::string& path) {
  if (path.size() >= sizeof(TempSlot::path)) return -1;
  for (size_t i = 0; i < g_temp_slots.size(); ++i) {
    int free_state = 0;
    if (g_temp_slots[i].state.compare_exchange_strong(free_state, 1)) {
      std::memcpy(g_temp_slots[i].path, path.c_str(), path.size() + 1);
      g_temp_slots[i].state.store(2);
      return int(i);
    }
  }
  return -1;  // more concurrent writes than slots: still atomic, just not cleaned on a signal
}

void release_temp_slot(int i) {
  if (i >= 0) g_temp_slots[size_t(i)].state.store(0);
}

extern "C" void remove_temps_and_die(int sig) {
  for (auto& s : g_temp_slots)
    if (s.state.load() == 2) ::unlink(s.path);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Test hook (tests/robustness/interrupt.sh): milliseconds to wait between writing the temporary
// file and renaming it, so that a signal can be delivered inside that window.
unsigned test_write_delay_ms() {
  const char* v = std::getenv("TPUSIM_TEST_WRITE_DELAY_MS");
  return v ? unsigned(std::strtoul(v, nullptr, 10)) : 0;
}

}  // namespace

void install_interrupt_cleanup() {
  struct sigaction sa {};
  sa.sa_handler = remove_temps_and_die;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

void write_file_atomic(const std::string& path, const std::string& content, bool force) {
  fs::path p(path);
  std::error_code ec;
  if (fs::exists(p, ec) && !force) throw FileExists(path);
  if (fs::is_directory(p, ec)) throw InputError(fmt::format("{}: is a directory", path));
  fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    throw InputError(fmt::format("{}: folder {} does not exist", path, dir.string()));
  static std::atomic<uint64_t> serial{0};
  fs::path tmp = dir / fmt::format(".{}.tmp.{}.{}", p.filename().string(), ::getpid(), serial++);
  const int slot = claim_temp_slot(tmp.string());
  struct Release {
    int slot;
    ~Release() { release_temp_slot(slot); }
  } release{slot};
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(fmt::format("{}: cannot write in folder {}", path, dir.string()));
    out.write(content.data(), std::streamsize(content.size()));
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      throw InputError(fmt::format("{}: write failed", path));
    }
  }
  if (unsigned ms = test_write_delay_ms())
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  fs::rename(tmp, p, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw InputError(fmt::format("{}: cannot rename the temporary file into place", path));
  }
}

}  // namespace tpusim
