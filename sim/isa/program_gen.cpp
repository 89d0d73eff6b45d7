#include "sim/isa/program_gen.h"

#include <algorithm>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "sim/isa/numerics.h"
#include "sim/isa/races.h"

namespace tpusim {

Program generate_program(const TpuConfig& cfg, uint64_t seed, const GenOptions& opt) {
  std::mt19937_64 rng(seed);
  auto uni = [&](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  const uint64_t N = cfg.array.rows;
  const uint64_t max_rows = opt.max_rows ? opt.max_rows : 3 * N;
  // At least two UB banks (sim/isa/ISA.md, "UB banks"), so that units also work side by side.
  const RaceTracker::BankRule banks = isa_bank_rule(cfg);
  uint64_t ub =
      std::min<uint64_t>(cfg.ub_vectors(), std::max<uint64_t>(1024, 2 * ub_bank_vectors(cfg)));
  uint64_t acc = cfg.accumulator_entries;
  if (opt.window) {
    ub = std::min<uint64_t>(ub, opt.window);
    acc = std::min<uint64_t>(acc, opt.window);
  }
  const uint64_t host_vectors = std::max<uint64_t>(1024, ub);
  const uint64_t tiles = std::min<uint64_t>(cfg.weight_memory_tiles(), 64);
  const uint64_t depth = cfg.weight_fifo_tiles;

  Program p;
  p.name = fmt::format("random-{}", seed);
  p.random_init.push_back({false, 0, host_vectors, seed * 2 + 1});
  p.random_init.push_back({true, 0, tiles, seed * 2 + 2});
  // Extreme values: a host vector of all -128 and one of all 127, a tile of all -128.
  p.host_init[uint64_t(uni(0, host_vectors - 2))] =
      std::vector<int8_t>(2 * cfg.vector_bytes(), -128);
  p.host_init[uint64_t(uni(0, host_vectors - 1))] = std::vector<int8_t>(cfg.vector_bytes(), 127);
  p.weight_init[uint64_t(uni(0, tiles - 1))] = std::vector<int8_t>(cfg.tile_bytes(), -128);

  RaceTracker races(banks);
  // Per MXU: tiles requested for it and switched in (at most `depth` ahead: an rw never waits
  // for a slot that only a later switch frees).
  const uint32_t mxus = cfg.mxus;
  std::vector<uint64_t> requested(mxus, 0), switched(mxus, 0);
  auto emit = [&](const Instruction& in) {
    races.issue(in, p.code.size());
    p.code.push_back(in);
  };
  // Emits `in` behind the sync it needs (sim/isa/races.h): the weakest one, or one that waits
  // for more (a smaller pending, sometimes 0), so that both kinds run.
  auto place = [&](const Instruction& in) {
    if (std::optional<Instruction> s = races.needed_sync(in)) {
      if (s->d > 0 && uni(0, 3) == 0) s->d = uint16_t(uni(0, s->d - 1));
      emit(*s);
    }
    emit(in);
  };

  // A source on MXU m and its chain followers (sim/isa/ISA.md, "Chained inputs"): B rows from
  // UB vector `ub`, member j's accumulator rows in a bank of its own, switching where every
  // member has a tile. One sync before the source orders what any member conflicts with; the
  // chain is cut before the first member that would still need one (it conflicts with an
  // earlier member), since nothing may come between.
  auto chain = [&](uint32_t m, uint64_t b, uint32_t ub_lo, uint8_t acc_flag) {
    const uint64_t bank = banks.acc_rows, nbanks = (acc + bank - 1) / bank;
    uint32_t fan = uint32_t(uni(1, std::min<uint64_t>(mxus - 1 - m, kMaxMmcFan)));
    bool sw = uni(0, 2) != 0;
    for (uint32_t j = 0; j <= fan; ++j) sw = sw && switched[m + j] < requested[m + j];
    std::vector<Instruction> g;
    const uint64_t k0 = uni(0, nbanks - 1);
    for (uint32_t j = 0; j <= fan; ++j) {
      const uint64_t lo = ((k0 + j) % nbanks) * bank, hi = std::min(acc, lo + bank);
      if (hi - lo < b) break;
      const uint8_t f = uint8_t((j == 0 ? 0 : kFlagChain) | (sw ? kFlagSwitch : 0) |
                                (uni(0, 1) ? kFlagAccumulate : acc_flag));
      g.push_back(
          {Opcode::kMatmul, f, uint16_t(m + j), ub_lo, uint32_t(uni(lo, hi - b)), uint32_t(b)});
    }
    if (g.empty()) return;
    const RaceTracker::ChainSync cs = races.chain_sync(g);
    std::optional<Instruction> merged = cs.sync;
    g.resize(cs.members);
    g[0].flags |= uint8_t((g.size() - 1) << kMmcFanShift);
    if (merged) {
      if (merged->d > 0 && uni(0, 3) == 0) merged->d = uint16_t(uni(0, merged->d - 1));
      emit(*merged);
    }
    for (const Instruction& in : g) {
      emit(in);
      if (sw) ++switched[in.d];
    }
  };

  for (uint32_t i = 0; i < opt.instructions; ++i) {
    switch (uni(0, 11)) {
      case 0: {  // rhm
        uint64_t n = uni(1, std::min<uint64_t>({max_rows, 64, ub}));
        const uint64_t w_lo = uni(0, ub - n);
        place({Opcode::kReadHost, 0, 0, uint32_t(uni(0, host_vectors - n)), uint32_t(w_lo),
               uint32_t(n)});
        break;
      }
      case 1: {  // whm
        uint64_t n = uni(1, std::min<uint64_t>({max_rows, 64, ub}));
        const uint64_t r_lo = uni(0, ub - n);
        place({Opcode::kWriteHost, 0, 0, uint32_t(uni(0, host_vectors - n)), uint32_t(r_lo),
               uint32_t(n)});
        break;
      }
      case 2:
      case 3: {                                                        // rw
        const uint32_t m = mxus > 1 ? uint32_t(uni(0, mxus - 1)) : 0;  // one MXU: as before
        if (requested[m] >= switched[m] + depth) break;
        uint64_t n = uni(1, switched[m] + depth - requested[m]);
        emit({Opcode::kReadWeights, 0, uint16_t(m), uint32_t(uni(0, tiles - n)), 0, uint32_t(n)});
        requested[m] += n;
        break;
      }
      case 4:
      case 5:
      case 6:
      case 7: {  // mmc
        uint64_t b = uni(1, std::min(max_rows, std::min(ub, acc)));
        const uint64_t r_lo = uni(0, ub - b), w_lo = uni(0, acc - b);
        uint8_t flags = uni(0, 1) ? kFlagAccumulate : 0;
        const uint32_t m = mxus > 1 ? uint32_t(uni(0, mxus - 1)) : 0;  // one MXU: as before
        if (m + 1 < mxus && uni(0, 1) == 0) {
          chain(m, b, uint32_t(r_lo), flags);
          break;
        }
        if (switched[m] < requested[m] && uni(0, 2) != 0) {
          flags |= kFlagSwitch;
          ++switched[m];
        }
        place({Opcode::kMatmul, flags, uint16_t(m), uint32_t(r_lo), uint32_t(w_lo), uint32_t(b)});
        break;
      }
      case 8:
      case 9: {                // act
        if (uni(0, 2) == 0) {  // a 2-D pooling window, its registers set just before
          const uint64_t H = uni(1, 8), Wd = uni(1, 8);
          if (H * Wd > acc) break;
          const uint32_t kh = uint32_t(uni(1, std::min<uint64_t>(4, H + 2))),
                         kw = uint32_t(uni(1, std::min<uint64_t>(4, Wd + 2)));
          const uint32_t sh = uint32_t(uni(1, 3)), sw = uint32_t(uni(1, 3));
          uint32_t pt = uint32_t(uni(0, kh - 1)), pb = uint32_t(uni(0, kh - 1)),
                   pl = uint32_t(uni(0, kw - 1)), pr = uint32_t(uni(0, kw - 1));
          if (uni(0, 1)) pt = pb = pl = pr = 0;
          if (H + pt + pb < kh || Wd + pl + pr < kw) break;
          const uint64_t outs =
              Pool2d{uint32_t(H), uint32_t(Wd), kh, kw, sh, sw, pt, pl, pb, pr}.outputs();
          if (outs > ub || outs > 0xFFFF) break;
          const uint8_t pool = uint8_t(uni(1, 2));
          emit({Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kPoolIn), uint32_t(Wd | H << 16), 0});
          emit({Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kPoolWindow),
                kh | kw << 8 | sh << 16 | sw << 24, 0});
          emit({Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kPoolPad),
                pt | pl << 8 | pb << 16 | pr << 24, 0});
          // the exact reciprocal of the window, or any (the hardware takes any 1..2^24)
          const uint32_t recip =
              uni(0, 3) ? numerics::pool_recip_for(kh * kw) : uint32_t(uni(1, kPoolRecipOne));
          emit({Opcode::kSetConfig, 0, 0, uint32_t(ConfigReg::kPoolRecip), recip, 0});
          const uint64_t r_lo = uni(0, acc - H * Wd), w_lo = uni(0, ub - outs);
          place({Opcode::kActivate, uint8_t(uni(0, 3) | (pool << 2) | kFlagPool2d), uint16_t(outs),
                 uint32_t(r_lo), uint32_t(w_lo), uint32_t(H * Wd)});
          break;
        }
        uint16_t d = 0;
        uint8_t pool = uint8_t(uni(0, 2));
        if (pool) d = uint16_t(uni(0, 3));
        uint64_t outs =
            uni(1, std::max<uint64_t>(1, std::min<uint64_t>({max_rows, acc, ub << d}) >> d));
        uint64_t n = outs << d;
        if (n > acc) break;
        const uint64_t r_lo = uni(0, acc - n), w_lo = uni(0, ub - outs);
        place({Opcode::kActivate, uint8_t(uni(0, 3) | (pool << 2)), d, uint32_t(r_lo),
               uint32_t(w_lo), uint32_t(n)});
        break;
      }
      case 10: {  // setc
        uint32_t reg = uint32_t(uni(0, 2));
        uint32_t v = reg == 0   ? uint32_t(rng())
                     : reg == 1 ? uint32_t(uni(0, 62))
                                : uint32_t(uni(0, 2));
        // Keep most outputs away from saturation: a modest multiplier for the shift range used.
        if (reg == 0 && uni(0, 1)) v = uint32_t(uni(1, 1u << 30));
        emit({Opcode::kSetConfig, 0, 0, reg, v, 0});
        break;
      }
      default:
        if (uni(0, 1))
          emit({Opcode::kNop, 0, 0, 0, 0, 0});
        else
          emit({Opcode::kSync, uint8_t(uni(1, 15)), uint16_t(uni(0, 1) ? 0 : uni(1, 3)), 0, 0, 0});
        break;
    }
  }
  // Drain the FIFO so that every requested tile is switched in (a halt waits for all of them),
  // then write the whole touched UB region back so that every value is compared.
  for (uint32_t m = 0; m < mxus; ++m)
    while (switched[m] < requested[m]) {
      uint64_t b = uni(1, std::min<uint64_t>(N, acc));
      place({Opcode::kMatmul, kFlagSwitch, uint16_t(m), 0, 0, uint32_t(b)});
      ++switched[m];
    }
  emit({Opcode::kSync, kUnitAll, 0, 0, 0, 0});
  uint64_t out = std::min<uint64_t>(ub, host_vectors);
  emit({Opcode::kWriteHost, 0, 0, 0, 0, uint32_t(out)});
  emit({Opcode::kHalt, 0, 0, 0, 0, 0});
  p.source_lines.assign(p.code.size(), 0);
  return p;
}

}  // namespace tpusim
