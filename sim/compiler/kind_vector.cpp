// Layer kind `vector`: elementwise, softmax, layernorm and gate math as identity-weight `mmc`
// passes of each operand into the accumulators (operands summed, `accumulate`), then one act.
// Exact for sums; products (LSTM f*c, SwiGLU) and normalization are approximated by this sum pass
// (the activation unit has no multiplier): one MXU pass per operand + one act.
#include <string>
#include <vector>

#include "sim/compiler/group_builder.h"
#include "sim/compiler/layer.h"
#include "sim/compiler/lowerer.h"

namespace tpusim {

namespace {

void parse(YamlMap& m, GroupBuilder& b, const std::string& name, const std::string& input,
           const std::string& where) {
  std::vector<std::string> ins = str_list(m, "inputs");
  if (ins.empty()) ins = {input};
  const std::string op =
      m.choice_or("op", "add", {"add", "mul", "softmax", "layernorm", "gate", "copy"});
  b.add(make_vector(b, name.empty() ? op + std::to_string(b.group().layers.size()) : name, op, ins,
                    parse_act(m), where),
        where);
}

void lower(Lowerer& low, const LayerTask& task) {
  const Layer& l = task.layer;
  const Tensor& out = task.out;
  const std::map<std::string, Tensor>& tensors = task.tensors;
  std::vector<const Tensor*> ins;
  for (const auto& s : l.inputs) ins.push_back(&tensors.at(s));
  low.identity_pass(ins, out, l.act, PoolKind::kNone, 1);
  low.set_requant(requant_for_sum(ins.size()));
}

}  // namespace

extern const LayerKindOps kVectorKind = {
    LayerKind::kVector, "vector", &parse, nullptr, nullptr, nullptr, nullptr, &lower};

}  // namespace tpusim
