// Interconnect cost model for multi-chip runs (issue 13): time and energy of the collectives that
// tensor parallelism needs and of the point-to-point transfers between pipeline stages, on the
// `interconnect:` block of a TpuConfig. A function of (InterconnectConfig, chips, bytes) only.
//
// Equations (alpha-beta model; alpha = per-step latency, beta = 1 / effective bandwidth):
//   IC-1 hops per transfer h: 1 between neighbours on a ring or torus, 2 through a switch
//        (chip -> switch -> chip; the PCIe default is host-routed through the root complex).
//   IC-2 effective bandwidth B_eff = link bandwidth x usable links: ring min(links, 2)
//        (bidirectional ring, half the data each way); torus2d min(links, 2 x dims) with dims the
//        number of torus dimensions of length > 1 that the T chips span (T = a x b, a the largest
//        divisor <= sqrt(T)); switch: links (each chip's links into a non-blocking switch).
//   IC-3 ring all-reduce (Patarasuk & Yuan, JPDC 2009) of S bytes on T chips:
//        t = 2 (T - 1) / T x S / B_eff + steps x h x latency, steps = 2 (T - 1) on a ring or
//        switch, 2 ((a - 1) + (b - 1)) on a torus (one ring per dimension).
//   IC-4 all-gather / reduce-scatter of S bytes (the full tensor) on T chips: half of IC-3.
//   IC-5 point-to-point of S bytes: t = S / link bandwidth + h x latency.
//   IC-6 energy: bytes crossing links x hops x 8 x pJ/bit. A ring all-reduce puts
//        2 (T - 1) x S bytes on links in all, an all-gather (T - 1) x S, a transfer S.
// Assumptions: no overlap of communication with compute, no contention between concurrent
// collectives of different tensor-parallel groups (each group has its own links), no in-network
// reduction, and the host CPU's forwarding time on the PCIe default is folded into latency.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "models/config.h"

namespace tpusim {

struct CollectiveCost {
  double seconds = 0.0;
  double link_bytes = 0.0;  // bytes x hops summed over every link they cross (IC-6)
  double energy_j = 0.0;
  uint64_t steps = 0;  // latency terms paid
  CollectiveCost& operator+=(const CollectiveCost& o) {
    seconds += o.seconds;
    link_bytes += o.link_bytes;
    energy_j += o.energy_j;
    steps += o.steps;
    return *this;
  }
};

// IC-1: link hops of one transfer between two chips.
uint32_t interconnect_hops(const InterconnectConfig& ic);
// IC-2: bytes/s a collective over `chips` chips can move per chip.
double effective_bandwidth_bytes_per_s(const InterconnectConfig& ic, uint32_t chips);
// IC-3: all-reduce of `bytes` (the full tensor, every chip holds a partial copy) on `chips`.
// Zero for one chip.
CollectiveCost all_reduce_cost(const InterconnectConfig& ic, uint32_t chips, uint64_t bytes);
// IC-4: all-gather of `bytes` (the gathered full tensor, each chip holds 1 / chips of it).
CollectiveCost all_gather_cost(const InterconnectConfig& ic, uint32_t chips, uint64_t bytes);
// IC-4: reduce-scatter (same cost as the all-gather of the same tensor).
CollectiveCost reduce_scatter_cost(const InterconnectConfig& ic, uint32_t chips, uint64_t bytes);
// IC-5: one transfer of `bytes` from one chip to another.
CollectiveCost p2p_cost(const InterconnectConfig& ic, uint64_t bytes);

// The interconnect block as resolved (defaults included), with `source` "default" or "yaml".
nlohmann::json interconnect_json(const TpuConfig& cfg);

}  // namespace tpusim
