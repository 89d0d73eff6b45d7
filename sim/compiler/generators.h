// Generators: hyperparameters expanded into primitive layers at load time (workload.cpp): the
// `lstm_cell` layer entry and the `transformer:` block (decoder, encoder and vision towers, GQA,
// SwiGLU, parallel blocks, LoRA adapters), following the GEMM convention of
// shared/reference/workloads.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/yaml_reader.h"
#include "sim/compiler/group_builder.h"
#include "sim/compiler/workload.h"

namespace tpusim {

// An LSTM cell of `hidden` units over the previous tensor of `b`.
void add_lstm_cell(GroupBuilder& b, const std::string& name, uint64_t hidden,
                   const std::string& where);

struct LoraSpec {
  std::vector<uint64_t> ranks;
  uint64_t adapters = 0;
  bool q = false, k = false, v = false, o = false;
};

struct TransformerSpec {
  uint64_t layers = 0, d_model = 0, heads = 0, kv_heads = 0, d_head = 0, d_ff = 0, vocab = 0;
  uint64_t max_context = 0;
  std::string ffn;    // gelu | relu | swiglu
  std::string block;  // sequential | parallel
  bool encoder = false;
  uint64_t seq_len = 0;                    // encoders: tokens per example
  uint64_t patch_k = 0, patch_tokens = 0;  // vision: patch embedding GEMM
  std::string head;                        // lm_head | classifier | projection | pooler | none
  uint64_t head_out = 0;
  LoraSpec lora;
};

// Reads the `transformer:` block (finishes `m`).
TransformerSpec parse_transformer(YamlMap m);
// Appends the model's groups to `w` (its batch, phase and lengths already set): embedding, the
// repeated layer, the head.
void build_transformer(const TransformerSpec& t, Workload& w);

}  // namespace tpusim
