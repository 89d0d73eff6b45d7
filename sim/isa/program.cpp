#include "sim/isa/program.h"

#include <fmt/format.h>

#include "models/errors.h"
#include "sim/isa/assembler.h"
#include "sim/isa/races.h"

namespace tpusim {

std::string Program::where(size_t pc) const {
  std::string file = source_file.empty() ? name : source_file;
  if (pc < source_lines.size() && source_lines[pc] > 0)
    return fmt::format("{}:{} (instruction {})", file, source_lines[pc], pc);
  return fmt::format("{}: instruction {}", file, pc);
}

namespace {

void check_range(const Program& prog, size_t pc, const char* what, uint64_t start, uint64_t count,
                 uint64_t limit, const char* unit) {
  if (start + count > limit) {
    throw InputError(fmt::format("{}: {}: {} range [{}, {}) exceeds the {} {} available",
                                 prog.where(pc), mnemonic(prog.code[pc].op), what, start,
                                 start + count, limit, unit));
  }
}

}  // namespace

uint64_t host_vectors_needed(const Program& prog) {
  uint64_t n = 0;
  for (const auto& in : prog.code) {
    if (in.op == Opcode::kReadHost || in.op == Opcode::kWriteHost)
      n = std::max<uint64_t>(n, uint64_t(in.a) + in.c);
  }
  for (const auto& r : prog.random_init)
    if (!r.weights) n = std::max(n, r.addr + r.count);
  return n;
}

void validate_program(const TpuConfig& cfg, const Program& prog) {
  if (prog.code.empty()) throw InputError(fmt::format("{}: empty program", prog.where(0)));
  std::vector<uint64_t> tiles_requested(cfg.mxus, 0), switches(cfg.mxus, 0);
  auto check_mxu = [&](size_t pc, const Instruction& in) {
    if (in.d >= cfg.mxus)
      throw InputError(fmt::format("{}: {}: MXU {} (field d), but {} has {} MXU{} (0..{})",
                                   prog.where(pc), mnemonic(in.op), in.d, cfg.name, cfg.mxus,
                                   cfg.mxus == 1 ? "" : "s", cfg.mxus - 1));
  };
  ConfigRegs regs;  // the setc registers, in program order (a 2-D pool act reads them)
  const uint64_t ub = cfg.ub_vectors(), acc = cfg.accumulator_entries,
                 wm_tiles = cfg.weight_memory_tiles();
  // Chained inputs (sim/isa/ISA.md): the fan F of the mmc at src_pc, chain mmcs still to come.
  size_t src_pc = 0;
  uint32_t chain_left = 0;
  for (size_t pc = 0; pc < prog.code.size(); ++pc) {
    const Instruction& in = prog.code[pc];
    std::string err = check_encoding(in);
    if (!err.empty())
      throw InputError(fmt::format("{}: {}: {}", prog.where(pc), mnemonic(in.op), err));
    if (chain_left > 0) {
      const Instruction& s = prog.code[src_pc];
      const uint32_t j = s.fan() - chain_left + 1;
      if (in.op != Opcode::kMatmul || !in.chained() || in.d != s.d + j || in.a != s.a ||
          in.c != s.c || (in.flags & kFlagSwitch) != (s.flags & kFlagSwitch))
        throw InputError(fmt::format(
            "{}: {}: instruction {} ({}) has fan={}, so this must be its chain mmc {} of {}: "
            "an mmc with chain on MXU {}, ub={} b={}, and switch as the source's (sim/isa/ISA.md, "
            "chained inputs)",
            prog.where(pc), mnemonic(in.op), src_pc, disassemble(s), s.fan(), j, s.fan(), s.d + j,
            s.a, s.c));
      --chain_left;
    } else if (in.op == Opcode::kMatmul && in.chained()) {
      throw InputError(fmt::format(
          "{}: mmc: chain, but it does not follow an mmc with fan on MXU {} (or the chain mmcs "
          "right after one): a chain mmc takes the rows of the source right before it "
          "(sim/isa/ISA.md, chained inputs)",
          prog.where(pc), in.d - 1));
    }
    if (in.op == Opcode::kMatmul && in.fan() > 0) {
      if (in.d + in.fan() >= cfg.mxus)
        throw InputError(
            fmt::format("{}: mmc: fan={} from MXU {} needs MXUs {}..{}, but {} has {} MXU{}",
                        prog.where(pc), in.fan(), in.d, in.d + 1, in.d + in.fan(), cfg.name,
                        cfg.mxus, cfg.mxus == 1 ? "" : "s"));
      src_pc = pc;
      chain_left = in.fan();
    }
    switch (in.op) {
      case Opcode::kReadHost:
      case Opcode::kWriteHost:
        check_range(prog, pc, "UB vector", in.b, in.c, ub, "UB vectors");
        break;
      case Opcode::kReadWeights:
        check_range(prog, pc, "weight tile", in.a, in.c, wm_tiles, "weight-memory tiles");
        check_mxu(pc, in);
        tiles_requested[in.d] += in.c;
        break;
      case Opcode::kMatmul:
        check_range(prog, pc, "UB vector", in.a, in.c, ub, "UB vectors");
        check_range(prog, pc, "accumulator row", in.b, in.c, acc, "accumulator entries");
        check_mxu(pc, in);
        if (in.flags & kFlagSwitch) {
          if (++switches[in.d] > tiles_requested[in.d])
            throw InputError(fmt::format(
                "{}: mmc switch #{} on MXU {} has no weight tile: only {} tiles requested for it "
                "by earlier rw",
                prog.where(pc), switches[in.d], in.d, tiles_requested[in.d]));
        }
        break;
      case Opcode::kActivate:
        if (in.pool_2d()) {
          err = check_pool2d(in, regs);
          if (!err.empty())
            throw InputError(
                fmt::format("{}: act (2-D pool): {} (set by setc pool_in, "
                            "pool_window, pool_pad)",
                            prog.where(pc), err));
        }
        check_range(prog, pc, "accumulator row", in.a, in.c, acc, "accumulator entries");
        check_range(prog, pc, "UB vector", in.b, act_outputs(in), ub, "UB vectors");
        break;
      case Opcode::kSetConfig:
        regs.apply(in);
        break;
      case Opcode::kHalt:
        if (pc + 1 != prog.code.size())
          throw InputError(
              fmt::format("{}: halt before the end of the program ({} instructions follow)",
                          prog.where(pc), prog.code.size() - pc - 1));
        break;
      default:
        break;
    }
  }
  if (prog.code.back().op != Opcode::kHalt)
    throw InputError(
        fmt::format("{}: the program does not end with halt", prog.where(prog.code.size() - 1)));
  for (const auto& [addr, bytes] : prog.weight_init) {
    uint64_t tiles = (bytes.size() + cfg.tile_bytes() - 1) / cfg.tile_bytes();
    if (addr + tiles > wm_tiles)
      throw InputError(
          fmt::format("{}: .weights {}: image of {} bytes exceeds weight memory ({} tiles)",
                      prog.source_file, addr, bytes.size(), wm_tiles));
  }
  for (const auto& r : prog.random_init) {
    if (r.weights && r.addr + r.count > wm_tiles)
      throw InputError(fmt::format("{}: .random weights {} {}: exceeds weight memory ({} tiles)",
                                   prog.source_file, r.addr, r.count, wm_tiles));
  }
  check_races(prog, isa_bank_rule(cfg));
}

}  // namespace tpusim
