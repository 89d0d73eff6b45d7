// Layer kind `unpack` (made by the lowering, never written in YAML): a tensor whose rows hold G
// images side by side in the lanes (Layer::images_packed, lowering.cpp image_packed) back to one
// image per row. Per packed row band and image i: one `mmc` of the band through a tile that moves
// lanes [iC, iC + C) to lanes [0, C) (ones at (iC + c, c)), then one identity `act` into image
// i's rows. The MXU moves the data: one pass over every image's rows, paid in cycles.
#include <algorithm>
#include <optional>
#include <stdexcept>

#include "sim/compiler/layer.h"
#include "sim/compiler/lowerer.h"

namespace tpusim {

namespace {

void lower(Lowerer& low, const LayerTask& task) {
  const Layer& l = task.layer;
  const Tensor& in = task.tensors.at(l.inputs[0]);
  const Tensor& out = task.out;
  const uint64_t W = low.W(), G = l.images_packed, C = l.out_features, P = l.rows_per_item / G;
  if (G < 2 || G * C > W || l.rows_per_item % G != 0)
    throw std::logic_error("lowering: unpack needs 2..W/C images packed in one lane block");
  const uint64_t packed_rows = in.rows / P;  // packed items of this chunk
  const Requant rq = requant_for_sum(1);
  for (uint64_t s = 0; s < packed_rows; ++s)
    for (uint64_t i = 0; i < G; ++i)
      for (uint64_t r0 = 0; r0 < P; r0 += low.half()) {
        const uint64_t n = std::min(low.half(), P - r0);
        const uint64_t acc = low.next_acc();
        std::optional<uint64_t> tile;
        uint64_t key = 0;
        low.switch_shift_if_needed(i * C, C, tile, key);
        low.em().mmc(low.ub_rows(in, 0, s * P + r0, n), acc, n, false, tile, key);
        if (!low.dry()) low.info().mac_slots += n * W * W;
        low.act_out(out, acc, (s * G + i) * P + r0, 0, n, ActFunction::kNone, PoolKind::kNone, 0,
                    rq);
      }
  low.set_requant(rq);
}

}  // namespace

extern const LayerKindOps kUnpackKind = {
    LayerKind::kUnpack, "unpack", nullptr, nullptr, nullptr, nullptr, nullptr, &lower};

}  // namespace tpusim
