#include "models/interconnect.h"

#include <algorithm>
#include <cmath>

namespace tpusim {

namespace {

// T = a x b with a the largest divisor of T not above sqrt(T) (a = 1 for a prime T).
std::pair<uint32_t, uint32_t> torus_dims(uint32_t chips) {
  uint32_t a = 1;
  for (uint32_t d = 1; uint64_t(d) * d <= chips; ++d)
    if (chips % d == 0) a = d;
  return {a, chips / a};
}

// Latency steps of a ring all-reduce (IC-3); the all-gather pays half.
uint64_t all_reduce_steps(const InterconnectConfig& ic, uint32_t chips) {
  if (ic.topology == "torus2d") {
    auto [a, b] = torus_dims(chips);
    return 2ull * ((a - 1) + (b - 1));
  }
  return 2ull * (chips - 1);
}

CollectiveCost make_cost(const InterconnectConfig& ic, double seconds_bw, uint64_t steps,
                         double bytes_on_links) {
  CollectiveCost c;
  const uint32_t h = interconnect_hops(ic);
  c.steps = steps;
  c.seconds = seconds_bw + double(steps) * h * ic.link_latency_us * 1e-6;
  c.link_bytes = bytes_on_links * h;
  c.energy_j = c.link_bytes * 8.0 * ic.energy_pj_per_bit * 1e-12;
  return c;
}

}  // namespace

uint32_t interconnect_hops(const InterconnectConfig& ic) { return ic.topology == "switch" ? 2 : 1; }

double effective_bandwidth_bytes_per_s(const InterconnectConfig& ic, uint32_t chips) {
  const double link = ic.link_bandwidth_bytes_per_s();
  if (ic.topology == "ring") return link * std::min<uint32_t>(ic.links_per_chip, 2);
  if (ic.topology == "torus2d") {
    auto [a, b] = torus_dims(chips);
    const uint32_t dims = uint32_t(a > 1) + uint32_t(b > 1);
    return link * std::min<uint32_t>(ic.links_per_chip, 2 * std::max<uint32_t>(dims, 1));
  }
  return link * ic.links_per_chip;
}

CollectiveCost all_reduce_cost(const InterconnectConfig& ic, uint32_t chips, uint64_t bytes) {
  if (chips <= 1 || bytes == 0) return {};
  const double t = double(chips);
  const double bw =
      2.0 * (t - 1.0) / t * double(bytes) / effective_bandwidth_bytes_per_s(ic, chips);
  return make_cost(ic, bw, all_reduce_steps(ic, chips), 2.0 * (t - 1.0) * double(bytes));
}

CollectiveCost all_gather_cost(const InterconnectConfig& ic, uint32_t chips, uint64_t bytes) {
  if (chips <= 1 || bytes == 0) return {};
  const double t = double(chips);
  const double bw = (t - 1.0) / t * double(bytes) / effective_bandwidth_bytes_per_s(ic, chips);
  return make_cost(ic, bw, all_reduce_steps(ic, chips) / 2, (t - 1.0) * double(bytes));
}

CollectiveCost reduce_scatter_cost(const InterconnectConfig& ic, uint32_t chips, uint64_t bytes) {
  return all_gather_cost(ic, chips, bytes);
}

CollectiveCost p2p_cost(const InterconnectConfig& ic, uint64_t bytes) {
  if (bytes == 0) return {};
  return make_cost(ic, double(bytes) / ic.link_bandwidth_bytes_per_s(), 1, double(bytes));
}

nlohmann::json interconnect_json(const TpuConfig& cfg) {
  const InterconnectConfig& ic = cfg.interconnect;
  return {{"type", ic.type},
          {"topology", ic.topology},
          {"link_bandwidth_gb_s", double(ic.link_bandwidth_mb_s) / 1000.0},
          {"link_latency_us", ic.link_latency_us},
          {"energy_pj_per_bit", ic.energy_pj_per_bit},
          {"links_per_chip", ic.links_per_chip},
          {"hops_per_transfer", interconnect_hops(ic)},
          {"source", ic.from_yaml ? "yaml" : "default"}};
}

}  // namespace tpusim
