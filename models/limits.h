// Upper bounds of the multi-MXU knobs, shared by the config loader (models/config.h) and the
// per-MXU counters (models/event_counts.h). Each MXU adds a UB read port and an accumulator write
// port; each shift port a row bus per column and a FIFO-bank read port (models/area.cpp).
#pragma once

#include <cstdint>

namespace tpusim {

inline constexpr uint32_t kMaxMxus = 8;
inline constexpr uint32_t kMaxShiftPorts = 8;

}  // namespace tpusim
