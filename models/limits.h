// Upper bounds of the multi-MXU knobs, shared by the config loader (models/config.h) and the
// per-MXU counters (models/event_counts.h). Each MXU adds a UB read port and an accumulator write
// port; each shift port a row bus per column and a FIFO-bank read port (models/area.cpp).
#pragma once

#include <cstdint>

namespace tpusim {

inline constexpr uint32_t kMaxMxus = 8;
inline constexpr uint32_t kMaxShiftPorts = 8;
// weight_fifo.bus_segment_rows when a preset does not say (capped at the array's rows): a bus
// segment then spans 16 PE pitches, which is what one repeated wire crosses in a cycle at
// TPU v1's 700 MHz in our reading; 1 (Gemmini-style shift) and rows (a broadcast) are the
// extremes a preset may choose (sim/isa/ISA.md, "Weight path").
inline constexpr uint32_t kDefaultBusSegmentRows = 16;

}  // namespace tpusim
