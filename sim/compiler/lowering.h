// Lowering: a Workload (sim/compiler/workload.h) becomes ISA programs (sim/isa/ISA.md) for one
// TpuConfig.
//
// Mapping (square arrays only: rows == cols == W):
// - Tensors live in the UB as `ceil(features / W)` column blocks of `rows` vectors; vector (row, b)
//   = base + b * rows + row. Inputs of a K tile use lanes 0..W-1; weight rows outside a term's
//   feature slice are zero, so stale lanes never contribute.
// - Dense layers: output rows in row blocks of accumulator_entries / 2 (the two halves alternate,
//   so ACT of one block overlaps MMC of the next); per (row block, output block) every K tile's
//   weight tile is switched in and accumulated (first tile plain, the rest `accumulate`), then one
//   ACT requantizes (mult/shift from requant_for_k) + applies the function into the UB. Weight
//   tiles are therefore read once per row block. `rw` runs weight_fifo.tiles tiles ahead of the
//   `mmc switch` that consumes each tile.
// - Conv2d: the TPU paper's mapping: input channels on array rows, output channels on columns,
//   one weight tile per (kernel position, channel block, output block); for every output row an
//   `mmc` streams the input pixels the kernel position touches (clipped at the borders, so no
//   padded copy exists) into that output row's accumulators. Stride s > 1 computes the s-times
//   denser row (extra MAC slots, not useful MACs) and ACT picks every s-th accumulator row, one
//   `act` per output pixel. Needs 2 * pad <= kernel - 1 (the centre position covers every output).
//   The workload's first conv may instead take im2col rows the host packs (Layer::im2col: one row
//   of kh x kw x C features per output pixel, one `mmc` per K tile and block, no skipped strided
//   positions), chosen where the MXU rows saved outweigh the extra host-link vectors
//   (conv_host_packing_saving; ResNet-50's 7x7/2 conv1 on 3 channels: 49 passes become one).
//   Only the workload input can be packed so: on chip, building packed rows costs one MXU pass
//   per kernel position (an `mmc` moves a UB row to one accumulator row), as many as the conv.
//   Leading convs and pools with few channels may instead take G images side by side in the
//   lanes (Layer::images_packed; the host lays the input out so): block-diagonal weight tiles
//   (G copies of one image's weights), 1/G of the rows; an `unpack` layer (one MXU pass through
//   lane-shifting tiles) gives each image its own rows for the layers after. The first group
//   takes whichever of the two saves more cycles (lowering.cpp first_group).
// - Attention: per head, scores = Q_h K_h^T and context = S_h V_h with the K/V cache of each
//   sequence read from weight memory as weight tiles (assumption: the KV cache lives in weight
//   memory; its write-back is not modelled). Softmax is approximated by the requantizing ACT of the
//   scores (exp and the row normalization are not on the activation unit). Heads sharing an output
//   block accumulate into the same accumulators (their V tiles sit at the head's columns).
// - Vector ops (residual add, LSTM gate products, layernorm, softmax passes): identity-weight
//   `mmc` passes of each operand into the accumulators (operands summed, `accumulate`), then one
//   ACT. Exact for sums; products (LSTM f*c, SwiGLU) and normalization are approximated by this sum
//   pass (the activation unit has no multiplier); the cost model is one MXU pass per operand + one
//   ACT.
// - Pooling: a 2-D pool right after the stride-1 conv that is its only input is done by that
//   conv's acts (2-D window, sim/isa/ISA.md): no identity pass, no UB round trip. Any other 2-D
//   pool: an identity pass of each band (or column tile) of its input + one 2-D ACT. 1-D pools
//   (`window`): identity pass + ACT pooling over consecutive rows. Strided convs pick every s-th
//   accumulator row with a 2-D ACT (1 x 1 window, stride s), one per block.
// - Embedding lookups and host ops: rows the host prepares, read with `rhm` (inputs written out
//   with `whm` first for host ops). Their values are host data (seeded), not computed on chip.
// - UB allocation: first-fit with reuse after each tensor's last use. When a group's tensors do not
//   fit, it is split into phases at cuts where one tensor is live (Lowerer::lower_phases), each
//   phase with the largest item chunk that fits it (weights are re-read per chunk of their own
//   phase only); the tensor between two phases holds every item and stays in the UB when both
//   phases fit beside it, else goes through host memory, where the weight reads saved pay for the
//   round trip (else the cut moves or the phases merge). When one item still does not fit, tensors
//   that do not fit are kept in host memory and staged through the UB per block.
// - Race freedom: each instruction gets the weakest `sync ... pending=N` the ISA's race rule
//   (sim/isa/races.h) needs, on exactly the conflicting units and leaving their later work
//   running. An `act` is held back until the next block's matmuls are issued, so its `sync mxu`
//   does not drain the array (sim/compiler/emitter.h).
//
// - Between groups: the tensor one group writes and the next reads stays in the UB (at its
//   bottom or top) when both groups fit whole beside it; a repeated group then reads and writes it
//   in place (its last layer writes where its input was: only when that layer does not read the
//   input, or reads it row for row as a vector op), so one program serves every repetition. Else,
//   or when the next group reads other rows (the host gathers them), it goes through host memory.
//   LoweredProgram::boundaries says which way each went and why.
//
// Repeated groups (decoder layers): each group becomes one Segment, a complete program (ending in
// halt) with a repeat count. Segments run one after the other from an idle machine, so an engine
// may simulate a segment once and multiply its cycles and counts by `repeat` (timing never depends
// on values or on weight addresses). `unroll` instead emits every repetition (distinct weights)
// into one program, for value runs of small workloads.
//
// Emission and storage are separate: one walk of the tiles (tiling, UB allocation, sync insertion,
// weight-tile placement) emits every instruction into a sink. lower() stores them (the program);
// lower_stats() only counts them (SegmentStats: instructions per opcode, MAC slots, weight tiles
// read, highest addresses used, a hash of the stream), in memory independent of the program size
// (4 bytes per distinct weight tile of one segment), so a whole LLM layer on a 16x16 array (tens
// of millions of instructions) can be accounted for. A stored program is limited to
// LowerOptions::max_instructions; lower() refuses a bigger one with an InputError before storing
// it (one past 2^22 instructions is counted first), pointing at lower_stats().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/config.h"
#include "sim/compiler/workload.h"
#include "sim/isa/program.h"
#include "sim/isa/races.h"

namespace tpusim {

// Default LowerOptions::max_instructions: 2^26 instructions, ~3 GiB while lower() stores them
// (16 B each plus per-instruction layer and source-line indexes, and a copy during emission).
constexpr uint64_t kMaxStoredInstructions = uint64_t(1) << 26;

struct LowerOptions {
  bool values = true;  // build host/weight memory images (false: timing only, no images)
  uint64_t seed = 1;
  bool unroll = false;  // one program with every repetition of every group
  // lower(): most instructions (all segments, one copy each) to store; above it InputError.
  // 0 = no limit. lower_stats() ignores it.
  uint64_t max_instructions = kMaxStoredInstructions;
  // A stream of this many batches in one program (a workload of one group without repeats):
  // batch b + 1's input is read into the UB while batch b computes and batch b's output is
  // written while b + 1 computes, each in one of two UB buffers (double-buffered host I/O) when
  // the UB has room for them. Every batch reads the same input values. The layer table has each
  // layer once per batch (batch b > 0 named "NAME#b").
  uint64_t batches = 1;
  // The first conv of a workload reading its input: channels on the array's rows, im2col rows
  // the host packs (Layer::im2col), or whichever costs fewer cycles (conv_host_packing_saving).
  enum class ConvInput { kAuto, kChannels, kHostIm2col };
  ConvInput first_conv = ConvInput::kAuto;
  // The first group's leading convs and pools with few channels: G images side by side in the
  // lanes (block-diagonal weight tiles, an unpack pass after them; Layer::images_packed) where the
  // MXU rows saved outweigh the unpack pass (kAuto), always where legal (kOn), or never (kOff).
  enum class PackImages { kAuto, kOff, kOn };
  PackImages pack_images = PackImages::kAuto;
  // The tensor between two groups stays in the UB where both groups fit whole beside it (a
  // repeated group reads and writes it in place); false: every group reads its input from and
  // writes its output to host memory (each group as a program of its own).
  bool keep_on_chip = true;
};

// Rows per accumulator block when `rows` are split into blocks of at most `cap`: as few blocks as
// fit, of equal length (the last shorter by less than one row per block), so that no block is a
// short tail whose matmuls cannot hide the next weight tile's load (issue 20 item 3).
inline uint64_t balanced_block(uint64_t rows, uint64_t cap) {
  if (rows == 0 || cap == 0) return cap;
  const uint64_t blocks = (rows + cap - 1) / cap;
  return (rows + blocks - 1) / blocks;
}

struct Requant {
  int32_t mult = 1 << 24;
  uint32_t shift = 24;
  uint8_t round = 0;
  bool operator==(const Requant& o) const {
    return mult == o.mult && shift == o.shift && round == o.round;
  }
};
// Requantization of a K-deep int8 dot product back to int8 (keeps random data in range).
Requant requant_for_k(uint64_t k);
// Requantization of a sum of `operands` identity passes (their rounded mean).
Requant requant_for_sum(uint64_t operands);

struct LayerInfo {
  std::string name;  // "group/layer" ("group.r/layer" when unrolled)
  std::string group;
  LayerKind kind = LayerKind::kFc;
  uint64_t repeat = 1;             // totals = per-instance values x repeat
  uint64_t useful_macs = 0;        // per instance
  uint64_t mac_slots = 0;          // sum over its mmcs of B * rows * cols
  uint64_t weight_bytes = 0;       // unique model weight bytes
  uint64_t weight_tile_loads = 0;  // model weight tiles read (rw)
  uint64_t weight_bytes_read = 0;  // useful bytes of those tiles
  uint64_t kv_tile_loads = 0;
  uint64_t kv_bytes_read = 0;
  uint64_t identity_tile_loads = 0;
  uint64_t chunks = 1;       // item chunks the group was split into
  uint64_t chunk_items = 0;  // items per chunk (the last may be smaller)
  uint64_t item_images = 1;  // workload items per lowered item (G images packed in the lanes)
  bool spilled = false;      // some tensor staged through host memory
  Requant requant;           // output requantization (attention: the context)
  ActFunction act = ActFunction::kNone;
};

struct Segment {
  std::string group;
  Program program;
  uint64_t repeat = 1;
  std::vector<uint32_t> layer_of;  // per instruction: index into LoweredProgram::layers
};

// A tensor in host memory in block layout: vector (row, b) = base + b * rows + row.
struct HostTensor {
  uint64_t base = 0, rows = 0, features = 0;
};

// Where the tensor between two groups went (issue 20 item 4): kept in the UB, or through host
// memory, and why.
struct GroupBoundary {
  std::string from, to;  // group names; equal: a repeated group feeding its next repetition
  uint64_t vectors = 0;  // the tensor's UB vectors
  bool on_chip = false;
  std::string why;  // through the host: the reason
};

struct LoweredProgram {
  std::string workload;
  std::vector<LayerInfo> layers;
  std::vector<Segment> segments;
  bool values = false;
  bool weight_addresses_wrapped = false;  // timing-only: tile addresses folded into weight memory
  uint64_t identity_tile = 0;             // weight tile address of the identity matrix
  HostTensor input;                       // the first group's input (features 0 if none)
  HostTensor output;                      // the last group's output
  std::vector<GroupBoundary> boundaries;  // between consecutive groups, in order
  // batches > 1: the host I/O of the stream had its two UB buffers (else each batch allocated
  // its input and output like a single batch, and they overlap less).
  bool double_buffered = false;

  uint64_t useful_macs() const;  // repeats included
  uint64_t mac_slots() const;
  uint64_t weight_bytes_read() const;
  uint64_t instructions() const;  // one copy of each segment
};

// Counts of one segment's program (what accounting checks need, without the program).
struct SegmentStats {
  std::string group;
  uint64_t repeat = 1;
  uint64_t instructions = 0;                       // the final halt included
  std::array<uint64_t, kOpcodeCount> by_opcode{};  // instructions per opcode (index: Opcode value)
  uint64_t matmul_rows = 0;         // sum of the mmc counts; x rows x cols = MAC slots
  uint64_t weight_tiles_read = 0;   // sum of the rw counts
  uint64_t ub_vectors_used = 0;     // highest UB vector touched + 1
  uint64_t acc_entries_used = 0;    // highest accumulator entry touched + 1
  uint64_t weight_tiles_used = 0;   // highest weight tile read + 1
  uint64_t host_vectors_used = 0;   // highest host vector touched by rhm/whm + 1
  uint64_t code_hash = 0;           // of every instruction but rw, in program order
  uint64_t weight_hash = 0;         // of the rw tile addresses, in program order
  void add(const Instruction& in);  // counts one more instruction of the program
  bool operator==(const SegmentStats& o) const;
  bool operator!=(const SegmentStats& o) const { return !(*this == o); }
};

// What lower() returns, less the instructions and memory images.
struct LoweringStats {
  std::string workload;
  std::vector<LayerInfo> layers;  // as LoweredProgram::layers
  std::vector<SegmentStats> segments;
  bool weight_addresses_wrapped = false;
  HostTensor input, output;
  std::vector<GroupBoundary> boundaries;

  uint64_t useful_macs() const;  // repeats included
  uint64_t mac_slots() const;
  uint64_t weight_bytes_read() const;
  uint64_t instructions() const;  // one copy of each segment
};

// Lowers `wl` for `cfg`. Throws InputError when the array is not square, a layer cannot be mapped
// (what and by how much), with values a memory image does not fit, or the program would have more
// than opt.max_instructions instructions (refused before it is stored; lower_stats() counts it).
LoweredProgram lower(const TpuConfig& cfg, const Workload& wl, const LowerOptions& opt = {});

// Counts what lower(cfg, wl, opt) with opt.values = false would store, by the very same walk of the
// tiles (only the sink differs): equal to stats_of(lower(...)) field for field. Memory: the layer
// table plus 4 bytes per distinct weight tile of one segment; never the instructions. Same errors
// as lower() except the size limit.
LoweringStats lower_stats(const TpuConfig& cfg, const Workload& wl, const LowerOptions& opt = {});

// The same counts, taken from a stored program.
LoweringStats stats_of(const LoweredProgram& lp);

// Deterministic values (shared with the tests' reference): element (k, n) of weight matrix
// `key`, and element (row, feature) of host tensor `key`. Keys are documented in lowering.cpp.
int8_t weight_value(uint64_t seed, const std::string& key, uint64_t k, uint64_t n);
int8_t host_value(uint64_t seed, const std::string& key, uint64_t row, uint64_t feature);
uint64_t key_hash(const std::string& key);
int8_t value_from(uint64_t seed, uint64_t key_h, uint64_t a, uint64_t b);

}  // namespace tpusim
